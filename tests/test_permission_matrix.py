"""Every named route × the demo's kinds of users (all demo users with PERMISSION_MATRIX_ALL_USERS=1)
and an anonymous caller × the objects of two hospitals, one per country: each answers what SPEC
says, as tests/permission_rules.py writes it down. A route without a rule fails the suite, so a new
page cannot slip in without its permission being thought through.

The objects are the demo's (tests/conftest.py seeds it once), with what the demo lacks (an
attachment, adverse events with their expedited reports, export files, an issued annual report)
made once for the module through the services, inside a transaction rolled back at its end. Every
request runs in a savepoint of its own, rolled back after it: an empty POST that happens to take a
step changes nothing that the next caller sees."""

import os
from io import BytesIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from pypdf import PdfWriter

from atmp_clinic.accounts.demo import DEMO_USERS
from atmp_clinic.accounts.models import Membership, Role, User
from atmp_clinic.accounts.selectors import national_authority
from atmp_clinic.api.services import api_token_create
from atmp_clinic.documents import annual_report
from atmp_clinic.documents.models import AnnualReportJob, DocumentKind
from atmp_clinic.documents.services import document_issue
from atmp_clinic.exemptions import services as exemption_services
from atmp_clinic.exemptions.models import ExemptionRequest, State
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.manufacturing.models import Batch
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product
from atmp_clinic.registry import services as registry_services
from atmp_clinic.registry.models import ExportJob
from tests.conftest import FAST_HASHER, load_seeded_demo, log_in, signature_of, tasks_in_process
from tests.exemptions.conftest import complete_fields
from tests.factories import member
from tests.permission_rules import RULES, Rule, Side, Who, rules_of

ANONYMOUS = "anonymous"
ALL_USERS = os.environ.get("PERMISSION_MATRIX_ALL_USERS") == "1"
# By default one of each kind of caller, to keep the module near a minute and a half: the hospital's
# pharmacist (a qualified person) and clinician (the responsible physician), its patient, a
# pharmacist of another hospital of the country, the authority's validator, assessor and decider, the
# analyst and the administrator. The second side's objects lie in the other country, so each of them
# also meets another country's objects. PERMISSION_MATRIX_ALL_USERS=1 asks all demo users.
REPRESENTATIVES = [
    "pharmacist", "clinician", "patient", "pharmacist_2", "reviewer", "assessor", "decider", "analyst",
    "admin",
]  # fmt: skip
USERNAMES = [demo_user.username for demo_user in DEMO_USERS] if ALL_USERS else REPRESENTATIVES
LOGIN_URL = "/accounts/login/"

# Cases where the app answers otherwise than SPEC says, reported and awaiting a fix:
# (url name, rule's `about`, username, side label or "-") → why. Each is asserted as the rule says,
# xfail(strict=True): it turns the suite red the day it is fixed, to be moved out of here.
KNOWN_DEVIATIONS: dict[tuple[str, str, str, str], str] = {}


# --- The objects and the callers ---------------------------------------------------------------


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _submitted_with_attachment(*, pharmacist: User, clinician: User, hospital) -> tuple:
    """A new request of the hospital, a PDF attached, co-signed and submitted: the authority's now."""
    patient = Patient.objects.filter(hospital=hospital, user__isnull=True).order_by("pk").first()
    request = exemption_services.request_create(
        actor=pharmacist,
        patient=patient,
        product=Product.objects.filter(hospital=hospital).order_by("pk").first(),
        **(complete_fields() | {"responsible_physician": clinician}),
    )
    attachment = exemption_services.attachment_add(
        actor=pharmacist,
        request=request,
        file=SimpleUploadedFile("qp-cv.pdf", _pdf(), content_type="application/pdf"),
        description="CV of the qualified person",
    )
    exemption_services.request_co_sign(actor=clinician, request=request, **signature_of(clinician))
    request = exemption_services.request_submit(actor=pharmacist, request=request, **signature_of(pharmacist))
    return request, attachment


def _serious_reaction(plan: FollowUpPlan, clinician: User, term: str):
    return registry_services.adverse_event_record(
        actor=clinician,
        plan=plan,
        term=term,
        onset_on=timezone.localdate(),
        relatedness="probable",
        outcome="recovering",
        grade=3,
        serious=True,
        seriousness=["hospitalisation"],
    )


def _done_export(owner: User) -> ExportJob:
    job = ExportJob(requested_by=owner, format=ExportJob.Format.VISITS_CSV, status=ExportJob.Status.DONE)
    job.file.save(f"registry-visits-{owner.pk}.csv", ContentFile(b"visit\n"), save=False)
    job.finished_at = timezone.now()
    job.save()
    return job


def _done_annual_report_job(owner: User, hospital) -> AnnualReportJob:
    document = document_issue(
        kind=DocumentKind.ANNUAL_REPORT,
        record=hospital,
        pdf=_pdf(),
        title=f"Annual report asked for by {owner.username}",
        filename=f"annual-report-{hospital.pk}-{owner.pk}.pdf",
        actor=owner,
    )
    return AnnualReportJob.objects.create(
        requested_by=owner,
        hospital=hospital,
        year=timezone.localdate().year,
        language="en",
        status=AnnualReportJob.Status.DONE,
        step=annual_report.BUILD_STEPS,
        steps=annual_report.BUILD_STEPS,
        document=document,
        finished_at=timezone.now(),
    )


def build_side(label: str, *, pharmacist: str, clinician: str, patient: str, export_owner: User) -> Side:
    pharmacist_user, clinician_user = _user(pharmacist), _user(clinician)
    hospital = pharmacist_user.memberships.get(ended_at__isnull=True).organisation
    approved = (
        ExemptionRequest.objects.filter(hospital=hospital, state=State.APPROVED, collections__isnull=False)
        .order_by("pk")
        .first()
    )
    batch = Batch.objects.filter(request=approved, status=Batch.Status.ADMINISTERED).get()
    plan = FollowUpPlan.objects.get(administration__batch=batch)
    patient_record = Patient.objects.get(user__username=patient)
    submitted, attachment = _submitted_with_attachment(
        pharmacist=pharmacist_user, clinician=clinician_user, hospital=hospital
    )
    event = _serious_reaction(plan, clinician_user, "Sepsis")
    submitted_report = registry_services.expedited_report_submit(
        actor=clinician_user, report=event.expedited_report, narrative="Sepsis on day 7, treated."
    )
    open_report = _serious_reaction(plan, clinician_user, "Pneumonia").expedited_report
    year = timezone.localdate().year
    issued_report = document_issue(
        kind=DocumentKind.ANNUAL_REPORT,
        record=hospital,
        pdf=_pdf(),
        title=f"Hospital-exemption annual report {year} — {hospital.name}",
        filename=f"annual-report-{hospital.pk}-{year}.pdf",
        actor=None,
    )
    return Side(
        label=label,
        hospital=hospital,
        authority=national_authority(country=hospital.country),
        product=Product.objects.filter(hospital=hospital).order_by("pk").first(),
        patient=patient_record,
        consent=patient_record.consents.filter(withdrawn_on__isnull=True).order_by("pk").first(),
        draft=ExemptionRequest.objects.filter(hospital=hospital, state=State.DRAFT).order_by("pk").first(),
        submitted=submitted,
        approved=approved,
        attachment=attachment,
        collection=batch.collection,
        batch=batch,
        plan=plan,
        visit=plan.visits.filter(status=FollowUpVisit.Status.SCHEDULED).order_by("due_on").first(),
        event=event,
        submitted_report=submitted_report,
        open_report=open_report,
        export_job=_done_export(export_owner),
        export_owner_id=export_owner.pk,
        issued_report=issued_report,
        annual_report_job=_done_annual_report_job(pharmacist_user, hospital),
        annual_report_job_owner_id=pharmacist_user.pk,
        api_token=api_token_create(actor=pharmacist_user, days=30)[0],
    )


def who_is(user: User) -> Who:
    membership = Membership.objects.select_related("organisation").get(user=user, ended_at__isnull=True)
    organisation = membership.organisation
    return Who(
        username=user.username,
        user_id=user.pk,
        role=membership.role,
        organisation_id=organisation and organisation.pk,
        country=organisation and organisation.country,
        is_validator=membership.is_validator,
        is_assessor=membership.is_assessor,
        is_decider=membership.is_decider,
        is_qualified_person=membership.is_qualified_person,
    )


class World:
    def __init__(self, sides: list[Side], callers: dict[str, tuple[Who | None, Client]]):
        self.sides = sides
        self.callers = callers  # username → (who, logged-in client); ANONYMOUS → (None, client)


def new_client() -> Client:
    # A 500 is an answer to report, not an exception that stops the whole route's check.
    return Client(raise_request_exception=False)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The sides and the logged-in clients, made once in a transaction that the module's end rolls
    back; each test's own transaction nests inside it."""
    changed = override_settings(
        MEDIA_ROOT=tmp_path_factory.mktemp("permission-matrix-media"), PASSWORD_HASHERS=FAST_HASHER
    )
    changed.enable()
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with tasks_in_process():
                if not User.objects.filter(username="admin").exists():
                    load_seeded_demo()
                second_analyst = member(role=Role.ANALYST)
                sides = [
                    build_side(
                        "NL",
                        pharmacist="pharmacist",
                        clinician="clinician",
                        patient="patient",
                        export_owner=_user("analyst"),
                    ),
                    build_side(
                        "DE",
                        pharmacist="pharmacist_b",
                        clinician="clinician_b",
                        patient="patient_b",
                        export_owner=second_analyst,
                    ),
                ]
                callers = {ANONYMOUS: (None, new_client())}
                for username in USERNAMES:
                    user = _user(username)
                    callers[username] = (who_is(user), log_in(new_client(), user))
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            changed.disable()
            raise
    yield World(sides, callers)
    print(f"\npermission matrix: {REQUESTS_MADE[0]} requests")  # shown with -s
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)
    changed.disable()


@pytest.fixture(autouse=True)
def _no_rate_limits(monkeypatch):
    """Hundreds of API calls a minute per user are the matrix, not an abuse."""
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)


# --- Asking --------------------------------------------------------------------------------------

REQUESTS_MADE = [0]


def ask(client: Client, rule: Rule, url: str):
    """One request, in a savepoint rolled back after it."""
    REQUESTS_MADE[0] += 1
    if rule.query:
        url = f"{url}?{rule.query}"
    with transaction.atomic():
        if rule.method == "get":
            response = client.get(url)
        elif url.startswith("/api/"):
            response = getattr(client, rule.method)(url, data="{}", content_type="application/json")
        else:
            response = getattr(client, rule.method)(url, data={})
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)  # a failure while streaming counts too
        transaction.set_rollback(True)
    return response


def mismatch(rule: Rule, allowed: bool, response) -> str | None:
    """What is wrong with the answer, or None."""
    code = response.status_code
    if not allowed:
        return None if code == 404 else f"{code}, expected 404"
    if rule.method == "get":
        return None if code in rule.ok else f"{code}, expected {' or '.join(map(str, rule.ok))}"
    if code in (403, 404) or code >= 500:
        return f"{code}, expected an answer for an allowed caller (not 403, 404 or 5xx)"
    return None


def anonymous_mismatch(name: str, rule: Rule, response) -> str | None:
    code = response.status_code
    if rule.public and rule.method != "get":
        return mismatch(rule, True, response)
    if rule.public:
        return None if code == 200 else f"{code}, expected 200 (public)"
    if rule.machine:
        return None if code == 404 else f"{code}, expected 404 (a machine's route)"
    if name.startswith("api:"):
        return None if code == 401 else f"{code}, expected 401"
    if code == 302 and response["Location"].startswith(LOGIN_URL):
        return None
    return f"{code} {response.get('Location', '')}, expected a redirect to the login page"


def listed_ids(client: Client, rule: Rule, response) -> set[int]:
    """The ids of an API list's results, every page of it."""
    ids = set()
    while True:
        body = response.json()
        ids.update(row["id"] for row in body["results"])
        if not body.get("next"):
            return ids
        response = ask(client, rule, body["next"])


def route_cases(name: str, rule: Rule, world: World):
    """(username, who, client, side label, side, url) for every caller and object of the rule. The
    other side's object is asked of those allowed on the own side's (a caller refused on their own
    organisation's object is refused on another's by the same check), and of everyone with
    PERMISSION_MATRIX_ALL_USERS=1; anonymous callers are asked once."""
    own, other = world.sides
    sides = world.sides if rule.kwargs else [None]
    for username, (who, client) in world.callers.items():
        if rule.once and username not in (ANONYMOUS, USERNAMES[0]):
            continue
        for side in sides:
            if side is other and (who is None or not (ALL_USERS or rule.allowed(who, own))):
                continue
            url = reverse(name, kwargs=rule.kwargs(side)) if rule.kwargs else reverse(name)
            yield username, who, client, side.label if side else "-", side, url


def check_case(name: str, rule: Rule, who: Who | None, client: Client, side: Side | None, url: str, world):
    """Every problem with one caller's answer on one route and object."""
    if rule.fresh_client and who is not None:
        client = log_in(new_client(), User.objects.get(pk=who.user_id))
    response = ask(client, rule, url)
    if who is None:
        problem = anonymous_mismatch(name, rule, response)
        return [problem] if problem else []
    allowed = rule.allowed(who, side)
    problems = [mismatch(rule, allowed, response)]
    if rule.listed and allowed and response.status_code == 200:
        for shown_side in world.sides:
            mark = rule.listed(shown_side)
            if name.startswith("api:"):
                present = mark in listed_ids(client, rule, response)
            else:
                present = mark in response.content.decode()
            expected = (rule.shown or rule.allowed)(who, shown_side)
            if present != expected:
                problems.append(
                    f"the {shown_side.label} side's object is {'' if present else 'not '}listed, "
                    f"expected {'' if expected else 'not '}listed"
                )
    return [problem for problem in problems if problem]


# --- The tests -------------------------------------------------------------------------------------


def url_names() -> set[str]:
    """Every route's name as reverse() takes it (unnamed ones by their pattern), Django admin's aside."""
    names = set()

    def walk(resolver: URLResolver, namespace: str, prefix: str) -> None:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                inner = pattern.namespace and (
                    f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                )
                walk(pattern, inner or namespace, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                if pattern.name:
                    names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
                else:
                    names.add(f"(unnamed) {prefix}{pattern.pattern}")

    walk(get_resolver(), "", "/")
    return names


def test_every_route_has_a_rule_and_every_rule_a_route():
    """A new route fails here until tests/permission_rules.py says who may use it."""
    names = url_names()
    without_rule, without_route = sorted(names - RULES.keys()), sorted(RULES.keys() - names)
    assert not without_rule and not without_route, (
        f"routes without a rule: {without_rule}; rules without a route: {without_route}"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(RULES))
def test_each_caller_gets_what_the_rules_say(name, world):
    problems = {}
    for rule in rules_of(name):
        for username, who, client, label, side, url in route_cases(name, rule, world):
            if (name, rule.about, username, label) in KNOWN_DEVIATIONS:
                continue
            found = check_case(name, rule, who, client, side, url, world)
            if found:
                problems[(rule.about or rule.method.upper(), username, label)] = "; ".join(found)
    assert problems == {}, f"{name}: {problems}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=pytest.mark.xfail(strict=True, reason=reason), id="-".join(case))
        for case, reason in KNOWN_DEVIATIONS.items()
        if case[2] in USERNAMES
    ],
)
def test_known_deviation_still_deviates(case, world):
    name, about, username, label = case
    rule = next(rule for rule in rules_of(name) if rule.about == about)
    for case_username, who, client, case_label, side, url in route_cases(name, rule, world):
        if (case_username, case_label) == (username, label):
            assert check_case(name, rule, who, client, side, url, world) == []
            return
    pytest.fail(f"no such case: {case}")


@pytest.mark.django_db
@pytest.mark.parametrize("username", [ANONYMOUS, *USERNAMES])
def test_only_the_administrator_reaches_the_admin(username, world):
    _, client = world.callers[username]
    response = ask(client, Rule(lambda who, side: True), "/admin/")
    if username == "admin":
        assert response.status_code == 200
    else:
        assert response.status_code == 404 or (
            response.status_code == 302 and response["Location"].startswith("/admin/login/")
        ), (response.status_code, response.get("Location"))
