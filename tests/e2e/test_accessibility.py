"""Issue 10: WCAG 2.1 AA on every page, checked with axe-core (node_modules/axe-core, installed by
`make install` from package-lock.json) in the browser, as someone who may see the page.

Every route of the project (tests/test_permission_matrix.py's `url_names`, Django admin's aside) is
either visited here or listed in NOT_PAGES with the reason it is no HTML page; who may see a page and
with which object come from tests/permission_rules.py, the objects from the permission matrix's
`build_side`. So a new page is checked as soon as it has its permission rule, and a new route that is
no page fails here until NOT_PAGES says why. The main forms are also checked in their error state,
where each error must be tied to its field, and one test goes from login to a saved draft with the
keyboard alone. Each user sees the pages in the next of the shipped languages, so every language is
checked on the pages of some roles.

axe is added to each context as an init script (Page.addScriptToEvaluateOnNewDocument): Chromium
runs those outside the page's Content Security Policy, so the pages are checked with their CSP in
force, as served, where bypass_csp=True would check pages that are not quite the ones people get.

A violation of impact serious or critical fails the test; lesser ones are printed (with -s)."""

import hashlib
import re
import time
from base64 import b32decode
from collections import defaultdict

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django_otp.oath import TOTP

from atmp_clinic.accounts.demo import DEMO_PASSWORD
from atmp_clinic.accounts.models import User
from atmp_clinic.audit.services import record_event
from atmp_clinic.audit.trails import trail_key
from atmp_clinic.exemptions.selectors import requests_visible_to
from atmp_clinic.followup.models import FollowUpVisit
from tests.conftest import PROJECT_DIR, authenticator_code, require_service
from tests.e2e.conftest import screenshot
from tests.permission_rules import rules_of
from tests.test_permission_matrix import _user, build_side, url_names, who_is

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = PROJECT_DIR / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}
LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]

# Routes that serve no HTML page to a person, each with why it needs no axe run.
NOT_PAGES = {
    "healthz": "plain-text liveness answer for the load balancer",
    "metrics": "Prometheus's text exposition, for a machine",
    "logout": "POST only; sends on to the login page (checked)",
    "set_language": "POST only; sends back to the page it came from",
    "request-dossier": "PDF download",
    "request-decision-letter": "PDF download",
    "request-step": "POST only; on a refusal it shows the request page (checked) with the step's errors",
    "attachment-create": "POST only; on a refusal it shows the request page (checked) with the errors",
    "attachment-download": "the attached file itself",
    "release-test-create": "POST only; on a refusal it shows the product page (checked)",
    "consent-create": "POST only; on a refusal it shows the patient page (checked)",
    "consent-withdraw": "POST only; on a refusal it shows the patient page (checked)",
    "patient-death": "POST only; on a refusal it shows the patient page (checked)",
    "batch-certificate": "PDF download",
    "batch-step": "POST only; on a refusal it shows the batch page (checked)",
    "plan-amend": "POST only; on a refusal it shows the plan page (checked)",
    "plan-schedule": "PDF download",
    "visit-step": "POST only; on a refusal it shows the visit page, checked with errors below",
    "own-calendar": "iCalendar file for the patient's calendar app",
    "own-schedule": "PDF download",
    "own-reminder-channels": "POST only; sends back to the patient's home page (checked)",
    "visit-outcome": "POST only; on a refusal it shows the visit page (checked)",
    "visit-outcome-draft": "POST only; on a refusal it shows the visit page (checked)",
    "visit-record-draft": "POST only; on a refusal it shows the visit page (checked)",
    "expedited-report-submit": "POST only; on a refusal it shows the report page (checked)",
    "expedited-report-acknowledge": "POST only; on a refusal it shows the report page (checked)",
    "dashboard-survival": "the dashboard's PNG chart, an <img> with its text alternative on the dashboard (checked)",
    "dashboard-adverse-events": "the dashboard's PNG chart, an <img> with its text alternative on the dashboard (checked)",
    "export-download": "the export file (CSV or NDJSON)",
    "annual-report-job-download": "PDF download",
    "issued-annual-report": "PDF download",
    "second-factor-remove": "POST only; sends on to the two-factor page (checked)",
    "api-token-create": "POST only; its answer, the new token, is checked below",
    "api-token-revoke": "POST only; sends back to the token list (checked)",
    "audit-record-trail-csv": "CSV download",
    "audit-record-trail-pdf": "PDF download",
}
# Namespaces that serve no HTML page to a person.
NOT_PAGE_NAMESPACES = {"api": "the JSON API (SPEC §7), for programs"}
# Pages whose rule cannot bring a browser to them by a GET: each is checked in its own flow below.
PAGES_IN_FLOWS = {
    "login": "a logged-in user is sent on: checked anonymous, empty and with a wrong password",
    "second-factor-verify": "the code page of a login: checked there, with a wrong code too",
    "second-factor-recovery-codes": "shown once, right after an authenticator is added: checked then",
}
# One of each kind of user; the second pharmacist and the other country's users see the same pages.
USERNAMES = ["pharmacist", "clinician", "patient", "reviewer", "assessor", "decider", "analyst", "admin"]

# The violations, and how many rules passed: none passing would mean axe did not check the page.
RUN_AXE = """tags => axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
  .then(result => ({passed: result.passes.length, violations: result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(node => node.target.join(" ")),
  }))}))"""


class Findings:
    """Violations by page, the failing ones apart, with a summary per rule for the report."""

    def __init__(self):
        self.failing: list[str] = []
        self.lesser: list[str] = []
        self.by_rule: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.nodes: dict[tuple[str, str], int] = defaultdict(int)
        self.pages = 0

    def check(self, page, where: str) -> None:
        self.pages += 1
        result = page.evaluate(RUN_AXE, WCAG_TAGS)
        assert result["passed"], f"{where}: axe checked nothing"
        for violation in result["violations"]:
            key = (violation["id"], violation["impact"])
            self.by_rule[key].add(where)
            self.nodes[key] += len(violation["targets"])
            line = f"{violation['impact']} {violation['id']} on {where}: {violation['help']}; {violation['targets'][:5]}"
            (self.failing if violation["impact"] in FAILING_IMPACTS else self.lesser).append(line)

    def report(self, started: float) -> None:
        print(f"\naxe: {self.pages} pages in {time.monotonic() - started:.0f} s")
        for (rule, impact), pages in sorted(self.by_rule.items()):
            print(
                f"  {impact} {rule}: {self.nodes[rule, impact]} nodes on {len(pages)} pages: {sorted(pages)[:8]}"
            )
        for line in self.lesser:
            print(f"  (not failing) {line}")


@pytest.fixture
def findings():
    require_service("axe-core", None if AXE.exists() else f"{AXE} is missing: run `make install`")
    return Findings()


def with_axe(context):
    context.add_init_script(path=str(AXE))
    return context


def log_in(browser, site: str, username: str, findings: Findings | None = None):
    """A context of the user's own, logged in; with `findings`, axe runs on the login page and, for a
    user with a second factor, on the code page, each also with a wrong answer."""
    context = with_axe(browser.new_context(viewport={"width": 1280, "height": 900}))
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{site}/accounts/login/")
    if findings:
        findings.check(page, "login")
        page.get_by_role("button", name="Log in").click()
        page.locator(".has-error").first.wait_for()
        findings.check(page, "login, empty")
        assert_errors_tied_to_fields(page, "login, empty")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    heading = page.get_by_role("heading", level=1)
    heading.wait_for()
    if heading.inner_text() == "Enter your code" and findings:
        findings.check(page, "second-factor-verify")
        page.get_by_label("Code").fill("000000")
        page.get_by_role("button", name="Continue").click()
        page.locator(".field-error, .error-summary").first.wait_for()
        findings.check(page, "second-factor-verify, wrong code")
        assert_errors_tied_to_fields(page, "second-factor-verify, wrong code")
    if heading.inner_text() == "Enter your code":
        page.get_by_label("Code").fill(authenticator_code(User.objects.get(username=username)))
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("heading", level=1).filter(has_not_text="Enter your code").wait_for()
    return context, page


def assert_errors_tied_to_fields(page, where: str) -> None:
    """Each field shown with an error is marked invalid and described by its error message, so a
    screen reader reads the message on the field (WCAG 3.3.1, 1.3.1)."""
    problems = page.evaluate(
        """() => [...document.querySelectorAll(".has-error")].flatMap(box => {
          const errors = [...box.querySelectorAll(".field-error")];
          const controls = [...box.querySelectorAll("input:not([type=hidden]), select, textarea")];
          if (!errors.length || !controls.length) return [`${box.className}: no error or no control`];
          return controls.flatMap(control => {
            const fieldset = control.closest("fieldset");  // a group of choices is described as a whole
            const described = [control, fieldset].flatMap(e => (e && e.getAttribute("aria-describedby") || "").split(/\\s+/));
            const out = [];
            if (control.getAttribute("aria-invalid") !== "true") out.push(`${control.name}: not aria-invalid`);
            for (const error of errors) {
              const owner = error.closest("[id]");
              if (!owner || !described.includes(owner.id)) out.push(`${control.name}: not described by "${error.innerText}"`);
            }
            return out;
          });
        })"""
    )
    assert page.locator(".has-error").count(), f"{where}: no field is marked with an error"
    assert problems == [], f"{where}: {problems}"


def page_names() -> list[str]:
    """Every route's name but those said above to be no page or checked in a flow of their own."""
    return sorted(
        name
        for name in url_names() - NOT_PAGES.keys() - PAGES_IN_FLOWS.keys()
        if name.partition(":")[0] not in NOT_PAGE_NAMESPACES
    )


def test_every_route_is_a_page_checked_or_said_to_be_none():
    """A new route is a page to check (with its permission rule) unless NOT_PAGES says why not."""
    assert not (NOT_PAGES.keys() | PAGES_IN_FLOWS.keys()) - url_names(), "listed routes that do not exist"
    for name in page_names():
        methods = {rule.method for rule in rules_of(name)}
        assert methods == {"get"}, f"{name}: a page with a rule that is not a GET; say why in NOT_PAGES"


@pytest.fixture
def side(site, settings, tmp_path):
    """The first Dutch hospital's objects, as the permission matrix makes them."""
    settings.MEDIA_ROOT = tmp_path
    return build_side(
        "NL", pharmacist="pharmacist", clinician="clinician", patient="patient", export_owner=_user("analyst")
    )


def test_every_page_has_no_serious_violation(browser, site, side, findings):
    started = time.monotonic()
    pages = page_names()
    seen_by = defaultdict(list)
    unexpected = []
    for username in USERNAMES:
        who = who_is(_user(username))
        # The login pages once, as the first user (a pharmacist: with the code page).
        context, page = log_in(browser, site, username, findings if username == USERNAMES[0] else None)
        # Each user in the next language, so that every page is checked in some of them: the
        # languages' lang attributes, longer words and own error texts at no extra run.
        language = LANGUAGE_CODES[USERNAMES.index(username) % len(LANGUAGE_CODES)]
        context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": site}])
        for name in pages:
            for rule in rules_of(name):
                if not rule.allowed(who, side if rule.kwargs else None):
                    continue
                url = reverse(name, kwargs=rule.kwargs(side)) if rule.kwargs else reverse(name)
                response = page.goto(f"{site}{url}{'?' + rule.query if rule.query else ''}")
                where = f"{name}{' (' + rule.about + ')' if rule.about else ''} as {username}, {language}"
                if response.status not in rule.ok:
                    unexpected.append(f"{where}: {response.status}")
                elif not response.headers["content-type"].startswith("text/html"):
                    unexpected.append(
                        f"{where}: {response.headers['content-type']}: list it in NOT_PAGES, why"
                    )
                else:
                    assert page.locator("html").get_attribute("lang") == language, where
                    findings.check(page, where)
                seen_by[name].append(username)
        if username == USERNAMES[0]:
            page.goto(f"{site}/no-such-page/")
            findings.check(page, f"404, {language}")
        context.close()
    findings.report(started)
    assert unexpected == []
    assert not [name for name in pages if not seen_by[name]], "pages nobody was shown"
    assert findings.failing == [], "\n".join(findings.failing)


def submit_empty(page, form) -> None:
    """Sends the form as it is, past the browser's own checks: the server's error page is checked."""
    form.evaluate("form => { form.noValidate = true; }")
    form.locator("button[type=submit]:not([formaction])").last.click()  # not "Save as draft"
    page.locator(".has-error").first.wait_for()


def test_main_forms_in_their_error_state(browser, site, findings):
    """The login (above), patient, exemption request and visit record forms sent empty: no serious
    violation, and each error tied to its field."""
    started = time.monotonic()
    context, page = log_in(browser, site, "pharmacist")
    page.goto(f"{site}{reverse('request-create')}")
    submit_empty(page, page.locator("main form[method=post]"))
    findings.check(page, "request-create, empty")
    assert_errors_tied_to_fields(page, "request-create, empty")
    context.close()

    context, page = log_in(browser, site, "clinician")
    page.goto(f"{site}{reverse('patient-create')}")
    submit_empty(page, page.locator("main form[method=post]"))
    findings.check(page, "patient-create, empty")
    assert_errors_tied_to_fields(page, "patient-create, empty")
    clinician = _user("clinician")
    visit = FollowUpVisit.objects.filter(
        status=FollowUpVisit.Status.SCHEDULED,
        plan__patient__hospital__memberships__user=clinician,
        plan__patient__hospital__memberships__ended_at__isnull=True,
    ).first()
    page.goto(f"{site}{reverse('visit-detail', args=[visit.pk])}")
    submit_empty(page, page.locator(f"form[action='{reverse('visit-step', args=[visit.pk, 'record'])}']"))
    findings.check(page, "visit-step record, empty")
    assert_errors_tied_to_fields(page, "visit-step record, empty")
    context.close()
    findings.report(started)
    assert findings.failing == [], "\n".join(findings.failing)


def test_pages_shown_once(browser, site, findings):
    """A new API token; the two-factor setup with a wrong code, then the recovery codes it shows once."""
    context, page = log_in(browser, site, "clinician")
    page.goto(f"{site}{reverse('api-token-list')}")
    page.get_by_role("button", name="Create a token").click()
    page.get_by_test_id("api-token").wait_for()
    findings.check(page, "api-token-create")
    page.goto(f"{site}{reverse('second-factor-setup')}")
    findings.check(page, "second-factor-setup")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name=re.compile("Turn on|Continue|Confirm")).click()
    page.locator(".has-error, .error-summary").first.wait_for()
    findings.check(page, "second-factor-setup, wrong code")
    key = b32decode(page.locator(".secret").inner_text().replace(" ", ""))
    page.get_by_label("Code").fill(f"{TOTP(key).token():06d}")
    page.get_by_role("button", name=re.compile("Turn on|Continue|Confirm")).click()
    page.locator(".recovery-codes").wait_for()
    findings.check(page, "second-factor-recovery-codes")
    context.close()
    assert findings.failing == [], "\n".join(findings.failing)


def test_lockout_and_server_error_pages(browser, site, findings):
    """The pages no route leads to: the lockout after too many failed logins, as served, and the
    server error page, which Django renders without a request (no menu, no styles), in each language."""
    context = with_axe(browser.new_context())
    page = context.new_page()
    page.goto(f"{site}/accounts/login/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Username").fill("locked-out-by-this-test")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Too many failed log-in attempts").wait_for()
    findings.check(page, "lockout")
    for language in LANGUAGE_CODES:
        with translation.override(language):
            page.set_content(render_to_string("500.html"))
        assert page.locator("html").get_attribute("lang") == language
        findings.check(page, f"500, {language}")
    context.close()
    assert findings.failing == [], "\n".join(findings.failing)


FOCUS_STYLE = """() => { const e = document.activeElement; const s = getComputedStyle(e);
  return {tag: e.tagName, name: e.name || e.innerText.trim().slice(0, 40), outline: s.outlineStyle,
          width: parseFloat(s.outlineWidth)}; }"""


def tab_to(page, matches, limit: int = 60) -> None:
    """Tab until the focused element `matches` (given the FOCUS_STYLE dict); every element focused on
    the way shows a visible outline (WCAG 2.4.7)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_STYLE)
        if focused["tag"] == "BODY":  # the focus is outside the page, on the browser's own controls
            continue
        assert focused["outline"] != "none" and focused["width"] >= 2, f"focus not visible on {focused}"
        if matches(focused):
            return
    pytest.fail(f"{limit} tabs did not reach the element on {page.url}")


def test_pharmacist_saves_a_draft_with_the_keyboard_alone(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{site}/accounts/login/")
    tab_to(page, lambda focused: focused["name"] == "username")
    page.keyboard.type("pharmacist")
    tab_to(page, lambda focused: focused["name"] == "password")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", level=1, name="Enter your code").wait_for()
    tab_to(page, lambda focused: focused["tag"] == "INPUT" and focused["name"] != "csrfmiddlewaretoken")
    page.keyboard.type(authenticator_code(User.objects.get(username="pharmacist")))
    page.keyboard.press("Enter")
    page.get_by_role("heading", level=1, name="Pharmacist worklist").wait_for()
    tab_to(page, lambda focused: focused["name"] == "New exemption request")
    page.keyboard.press("Enter")
    page.get_by_role("heading", level=1, name="New exemption request").wait_for()
    for field in ("patient", "product"):  # the two a draft needs: the first of each list
        tab_to(page, lambda focused, field=field: focused["name"] == field)
        page.keyboard.press("ArrowDown")
    tab_to(page, lambda focused: focused["name"] == "indication_code")
    page.keyboard.type("C91.0")
    page.keyboard.press("Enter")
    page.get_by_text(re.compile(r"Draft .* saved\.")).wait_for()
    context.close()


# --- Layout at 1280 px --------------------------------------------------------------------------

# Whether the page scrolls sideways, and each table that reaches past its card.
OVERFLOW = """() => ({
  page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  tables: [...document.querySelectorAll(".card table")].filter(table =>
    table.getBoundingClientRect().right > table.closest(".card").getBoundingClientRect().right + 0.5
  ).length,
})"""
# The codes (references, patient codes, batch numbers) that are broken over two lines.
BROKEN_CODES = """() => [...document.querySelectorAll(".identifier")].filter(code => {
  const range = document.createRange();
  range.selectNodeContents(code);
  return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size > 1;
}).map(code => code.textContent)"""


def test_the_audit_trail_with_a_sha256_stays_inside_a_1280_px_window(browser, site):
    reviewer = _user("reviewer")
    request = requests_visible_to(user=reviewer).first()
    event = record_event(
        actor=_user("pharmacist"), obj=request, action="attachment_added",
        after={"name": "scan.pdf", "sha256": hashlib.sha256(b"scan").hexdigest()},
    )  # fmt: skip
    context, page = log_in(browser, site, "reviewer")
    for url in (reverse("audit-search"), reverse("audit-record-trail", args=[trail_key(event), request.pk])):
        page.goto(f"{site}{url}")
        assert page.get_by_text(event.after["sha256"]).count(), url
        assert page.evaluate(OVERFLOW) == {"page": 0, "tables": 0}, url
        assert page.evaluate(BROKEN_CODES) == [], url
        screenshot(page, f"layout-1280/{url.strip('/').replace('/', '-')}")
    context.close()


@pytest.mark.parametrize("width", [1280, 768])  # the stylesheet's widest and narrowest
def test_patient_codes_in_the_clinicians_worklist_stay_on_one_line(browser, site, width):
    context, page = log_in(browser, site, "clinician")
    page.set_viewport_size({"width": width, "height": 900})
    assert page.locator(".identifier").count()
    assert page.evaluate(BROKEN_CODES) == []
    context.close()
