"""Who may reach which route, as SPEC §1, §4 and §7 say, for tests/test_permission_matrix.py.

Every named URL of the project (Django admin's aside) has an entry in RULES, keyed by its name as
`reverse()` takes it (`api:patient-list`). The matrix asks each route as every user, for the objects
of two hospitals in two countries (a `Side` each: the first Dutch hospital of `pharmacist`,
`clinician` and `patient`, and the first German one of the `_b` users), so each user meets objects
of their own organisation, of another hospital of their country and of another country.

A rule says:
- `allowed(who, side)`: whether the user may use the route on that side's object, written with the
  small predicates below (hospital_staff_of, authority_of, ...), never from what the app answers;
- `kwargs(side)`: the URL's arguments for that side's object (None: the route takes none, and
  `allowed` is asked with side=None);
- `method`: "get" for pages; "post" (or "patch") with an empty body for endpoints that change
  things;
- `ok`: the statuses an allowed GET answers (200 unless told); an allowed POST or PATCH answers
  anything but 403, 404 or 5xx (400 for the empty body, 302 after a step, 409 ...);
- `query`: a query string the route needs (`table=visits`); `about`: a label telling a name's rules
  apart in failures and in KNOWN_DEVIATIONS; `fresh_client`: the request ends the session (logout);
- `once`: the answer cannot depend on the caller (a public, slow document): one caller is asked;
- `machine`: the route serves a machine (Prometheus), which no login makes a caller: an anonymous
  caller it refuses gets 404 like everyone else, not the login page;
- `listed(side)`: for a list, the mark of the side's object (the link to its page in HTML, its id
  in the API's results), which shows exactly when `shown(who, side)` (default: `allowed`) holds.

Anyone not allowed gets 404 (SPEC §7: never 403). Anonymous callers get the login page (302) from
pages and 401 from the API, except on routes marked `public`, which answer them as anyone allowed.

A name may have several rules (a tuple): the same route for another object or another step.
To add a route: add its name here with the rule SPEC gives it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from atmp_clinic.accounts.models import Role


@dataclass(frozen=True)
class Who:
    """A caller as the rules see them: role, organisation and capabilities."""

    username: str
    user_id: int
    role: str | None
    organisation_id: int | None = None
    country: str | None = None
    is_validator: bool = False
    is_assessor: bool = False
    is_decider: bool = False
    is_qualified_person: bool = False


@dataclass
class Side:
    """One hospital's objects, and the authority of its country."""

    label: str
    hospital: Any
    authority: Any
    product: Any = None
    patient: Any = None
    consent: Any = None
    draft: Any = None
    submitted: Any = None
    approved: Any = None
    attachment: Any = None
    collection: Any = None
    batch: Any = None  # released and administered
    plan: Any = None
    visit: Any = None  # a scheduled visit of the plan
    event: Any = None  # a serious adverse reaction: its report is submitted
    submitted_report: Any = None
    open_report: Any = None  # another reaction's report, still open (the hospital's to submit)
    export_job: Any = None  # done; requested by `export_owner_id`
    export_owner_id: int | None = None
    issued_report: Any = None  # the annual report the yearly task issued for the hospital
    annual_report_job: Any = None  # done; asked for by `annual_report_job_owner_id`, the pharmacist
    annual_report_job_owner_id: int | None = None
    api_token: Any = None  # the pharmacist's


@dataclass(frozen=True)
class Rule:
    allowed: Callable[[Who, Side | None], bool]
    kwargs: Callable[[Side], dict] | None = None
    method: str = "get"
    ok: tuple[int, ...] = (200,)
    public: bool = False
    query: str = ""
    listed: Callable[[Side], object] | None = None
    shown: Callable[[Who, Side], bool] | None = None
    fresh_client: bool = False  # the request ends the session (logout): a client of its own
    once: bool = False  # the same answer for everyone (and slow to make): asked of one caller and anonymous
    machine: bool = (
        False  # for a machine, not a person: refused callers, anonymous too, get 404, no login page
    )
    about: str = ""


# --- Who is who ----------------------------------------------------------------------------------

HOSPITAL_STAFF = (Role.PHARMACIST, Role.CLINICIAN)


def everyone(who: Who, side: Side | None = None) -> bool:
    return True


def nobody(who: Who, side: Side | None = None) -> bool:
    return False


def role_is(*roles: str) -> Callable[[Who, Side | None], bool]:
    def check(who: Who, side: Side | None = None) -> bool:
        return who.role in roles

    return check


def hospital_staff_of(side: Side, *roles: str) -> Callable[[Who], bool]:
    """The side's hospital's pharmacists and clinicians (or only those of `roles`)."""
    return lambda who: who.role in (roles or HOSPITAL_STAFF) and who.organisation_id == side.hospital.pk


def authority_of(side: Side, capability: str | None = None) -> Callable[[Who], bool]:
    """The reviewers of the side's national authority (or only its validators, assessors, deciders)."""
    return lambda who: (
        who.role == Role.REVIEWER
        and who.organisation_id == side.authority.pk
        and (capability is None or getattr(who, f"is_{capability}"))
    )


def staff(*roles: str) -> Callable[[Who, Side], bool]:
    return lambda who, side: hospital_staff_of(side, *roles)(who)


def authority(capability: str | None = None) -> Callable[[Who, Side], bool]:
    return lambda who, side: authority_of(side, capability)(who)


def either(*checks: Callable[[Who, Side], bool]) -> Callable[[Who, Side], bool]:
    return lambda who, side: any(check(who, side) for check in checks)


def physician_of(request_of: Callable[[Side], Any]) -> Callable[[Who, Side], bool]:
    """The physician named responsible on the request (SPEC §4: the co-signature is theirs)."""
    return lambda who, side: who.user_id == request_of(side).responsible_physician_id


# Hospital staff see their hospital's requests; the authority those sent to it (SPEC §4, §7).
sees_request = either(staff(), authority())
# A patient's record and identity: their hospital's staff only.
sees_patient = staff()
# Follow-up, outcomes and adverse events: the hospital, and the authority that granted the permit.
sees_follow_up = either(staff(), authority())


def sees_organisation(who: Who, organisation) -> bool:
    """Staff see their own organisation; a hospital and its national authority see each other."""
    if who.role in (None, Role.PATIENT, Role.ANALYST, Role.ADMINISTRATOR):
        return False
    if who.organisation_id == organisation.pk:
        return True
    mine_is_authority = who.role == Role.REVIEWER
    return who.country == organisation.country and mine_is_authority != (organisation.kind == "authority")


def owns_export(who: Who, side: Side) -> bool:
    return who.role == Role.ANALYST and who.user_id == side.export_owner_id


def owns_annual_report_job(who: Who, side: Side) -> bool:
    """The one who asked for the report, while they may still have the hospital's reports."""
    return who.user_id == side.annual_report_job_owner_id and (
        hospital_staff_of(side)(who) or authority_of(side)(who)
    )


def pk(attribute: str, name: str = "pk") -> Callable[[Side], dict]:
    return lambda side: {name: getattr(side, attribute).pk}


def link(url_name: str, attribute: str) -> Callable[[Side], str]:
    """A list's mark of the side's object: the link to its page."""
    return lambda side: f'href="{reverse(url_name, args=[getattr(side, attribute).pk])}"'


def api_id(attribute: str) -> Callable[[Side], int]:
    return lambda side: getattr(side, attribute).pk


def request_step(step: str, allowed) -> Rule:
    return Rule(
        allowed,
        lambda side: {"pk": side.submitted.pk, "step": step},
        method="post",
        about=f"step {step}",
    )


def batch_step(step: str, allowed) -> Rule:
    return Rule(
        allowed, lambda side: {"pk": side.batch.pk, "step": step}, method="post", about=f"step {step}"
    )


def api_transition(allowed) -> Rule:
    return Rule(allowed, pk("submitted"), method="post")


def api_batch_step(allowed) -> Rule:
    return Rule(allowed, pk("batch"), method="post")


def api_visit_step(allowed) -> Rule:
    return Rule(allowed, pk("visit"), method="post")


# Who may take each step of a request (SPEC §4), whatever its state: the state is the service's.
TRANSITION_ALLOWED = {
    "co_sign": physician_of(lambda side: side.submitted),
    "submit": staff(Role.PHARMACIST),
    "validate": authority("validator"),
    "return": authority("validator"),
    "request_information": either(authority("validator"), authority("assessor")),
    "answer_information": staff(Role.PHARMACIST),
    "record_assessment": authority("assessor"),
    "decide": authority("decider"),
    "withdraw": staff(Role.PHARMACIST),
    "suspend": authority("decider"),
    "revoke": authority("decider"),
}


def qualified_person(who: Who, side: Side) -> bool:
    return staff(Role.PHARMACIST)(who, side) and who.is_qualified_person


# Who may take each step of a batch (SPEC §2: chain of identity, release by a qualified person).
BATCH_STEP_ALLOWED = {
    "record_result": staff(Role.PHARMACIST),
    "correct_result": staff(Role.PHARMACIST),
    "justify_exceptional_release": physician_of(lambda side: side.batch.request),
    "release": qualified_person,
    "administer": staff(Role.CLINICIAN),
    "correct_collection": staff(),
    "correct_administration": staff(Role.CLINICIAN),
}

logged_in = everyone
# Two factors are asked of these roles (settings.SECOND_FACTOR_ROLES); only they have one to remove.
HAS_SECOND_FACTOR = (Role.PHARMACIST, Role.REVIEWER, Role.ADMINISTRATOR)


# Every role but the patient's uses the API (SPEC §7).
holds_api_tokens = role_is(*HOSPITAL_STAFF, Role.REVIEWER, Role.ANALYST, Role.ADMINISTRATOR)


def owns_api_token(who: Who, side: Side) -> bool:
    return who.user_id == side.api_token.user_id


def trail(record_of: Callable[[Side], Any], allowed, about: str) -> Rule:
    """A record's audit trail is shown to whoever sees the record (audit/trails.py)."""

    def kwargs(side: Side) -> dict:
        record = record_of(side)
        return {"record_type": record._meta.label_lower, "pk": record.pk}

    return Rule(allowed, kwargs, about=about)


RULES: dict[str, Rule | tuple[Rule, ...]] = {
    # --- Accounts ---
    "healthz": Rule(everyone, public=True),
    # Prometheus's, by token or address (METRICS_TOKEN, METRICS_ALLOWED_IPS), which the tests leave
    # unset: no user, whatever their role, and no anonymous caller (tests/observability cover who may).
    "metrics": Rule(nobody, machine=True),
    "login": Rule(everyone, ok=(302,), public=True),  # a logged-in user is sent on
    "logout": Rule(everyone, method="post", fresh_client=True),
    # Anyone may choose the pages' language, before logging in too (the login page has the switcher).
    "set_language": Rule(everyone, method="post", public=True),
    "password_change": Rule(logged_in),
    "password_change_done": Rule(logged_in),
    "home": Rule(logged_in),
    "organisation-detail": (
        Rule(lambda who, side: sees_organisation(who, side.hospital), pk("hospital"), about="hospital"),
        Rule(lambda who, side: sees_organisation(who, side.authority), pk("authority"), about="authority"),
    ),
    # --- Products ---
    "product-list": Rule(logged_in, listed=link("product-detail", "product"), shown=staff(), about="list"),
    "product-create": Rule(role_is(Role.PHARMACIST)),
    "product-detail": Rule(staff(), pk("product")),
    "release-test-create": Rule(staff(Role.PHARMACIST), pk("product"), method="post"),
    # --- Patients ---
    "patient-list": Rule(logged_in, listed=link("patient-detail", "patient"), shown=sees_patient),
    "patient-create": Rule(role_is(*HOSPITAL_STAFF)),
    "patient-detail": Rule(sees_patient, pk("patient")),
    "consent-create": Rule(staff(), pk("patient"), method="post"),
    "consent-withdraw": Rule(
        staff(), lambda side: {"pk": side.patient.pk, "consent_pk": side.consent.pk}, method="post"
    ),
    # SPEC §1: clinicians record outcomes; patients/services.py: only they record a death.
    "patient-death": Rule(staff(Role.CLINICIAN), pk("patient"), method="post"),
    "patient-traceability": Rule(sees_patient, pk("patient")),
    # --- Exemption requests ---
    "request-list": Rule(logged_in, listed=link("request-detail", "approved"), shown=sees_request),
    "request-create": Rule(role_is(Role.PHARMACIST)),
    "request-detail": (
        Rule(sees_request, pk("approved"), about="approved"),
        Rule(staff(), pk("draft"), about="draft: not yet the authority's"),
    ),
    "request-edit": Rule(staff(Role.PHARMACIST), pk("draft")),
    "request-dossier": Rule(sees_request, pk("approved")),
    "request-decision-letter": Rule(sees_request, pk("approved")),
    "request-step": (
        request_step("validate", authority("validator")),
        request_step("record_assessment", authority("assessor")),
        request_step("withdraw", staff(Role.PHARMACIST)),
    ),
    "attachment-create": Rule(staff(Role.PHARMACIST), pk("draft"), method="post"),
    "attachment-download": Rule(
        sees_request, lambda side: {"pk": side.submitted.pk, "attachment_pk": side.attachment.pk}
    ),
    # --- Manufacturing ---
    "collection-create": Rule(staff(), pk("approved", "request_pk")),
    "batch-create": Rule(staff(Role.PHARMACIST), pk("collection", "collection_pk")),
    "batch-detail": Rule(sees_request, pk("batch")),
    "batch-certificate": Rule(sees_request, pk("batch")),
    "batch-step": (
        batch_step("record_result", BATCH_STEP_ALLOWED["record_result"]),
        batch_step("administer", BATCH_STEP_ALLOWED["administer"]),
    ),
    # --- Follow-up ---
    "plan-detail": Rule(sees_follow_up, pk("plan")),
    "plan-amend": Rule(authority("decider"), pk("plan"), method="post"),  # the granting authority
    # Addressed to the patient by name: only those who see the identity.
    "plan-schedule": Rule(sees_patient, pk("plan")),
    "visit-detail": Rule(sees_follow_up, pk("visit")),
    "visit-step": Rule(
        staff(Role.CLINICIAN), lambda side: {"pk": side.visit.pk, "step": "record"}, method="post"
    ),
    "visit-record-draft": Rule(staff(Role.CLINICIAN), pk("visit"), method="post"),
    "own-calendar": Rule(role_is(Role.PATIENT)),
    "own-schedule": Rule(role_is(Role.PATIENT)),
    "own-reminder-channels": Rule(role_is(Role.PATIENT), method="post"),
    # --- Registry ---
    "visit-outcome": Rule(staff(Role.CLINICIAN), pk("visit"), method="post"),
    "visit-outcome-draft": Rule(staff(Role.CLINICIAN), pk("visit"), method="post"),
    "adverse-event-new": Rule(staff(Role.CLINICIAN), pk("plan")),
    "adverse-event-detail": Rule(sees_follow_up, pk("event")),
    "expedited-report-detail": (
        Rule(sees_follow_up, pk("submitted_report"), about="submitted"),
        Rule(staff(), pk("open_report"), about="open: not yet the authority's"),
    ),
    "expedited-report-submit": Rule(staff(), pk("open_report"), method="post"),
    "expedited-report-acknowledge": Rule(authority(), pk("submitted_report"), method="post"),
    "dashboard": Rule(role_is(*HOSPITAL_STAFF, Role.REVIEWER, Role.ANALYST)),
    "dashboard-survival": Rule(role_is(*HOSPITAL_STAFF, Role.REVIEWER, Role.ANALYST)),
    "dashboard-adverse-events": Rule(role_is(*HOSPITAL_STAFF, Role.REVIEWER, Role.ANALYST)),
    "export-list": Rule(role_is(Role.ANALYST)),
    "export-job": Rule(owns_export, pk("export_job")),
    "export-download": Rule(owns_export, pk("export_job")),
    # --- Documents ---
    "annual-reports": Rule(
        role_is(*HOSPITAL_STAFF, Role.REVIEWER),
        listed=link("annual-report-job", "annual_report_job"),
        shown=owns_annual_report_job,
    ),
    "annual-report-job": Rule(owns_annual_report_job, pk("annual_report_job")),
    "annual-report-job-download": Rule(owns_annual_report_job, pk("annual_report_job")),
    "issued-annual-report": Rule(either(staff(), authority()), pk("issued_report", "document_pk")),
    "second-factor": Rule(logged_in),
    # Sent on: home once verified, or to add an authenticator when the user has none.
    "second-factor-verify": Rule(logged_in, ok=(302,)),
    "second-factor-setup": Rule(logged_in),
    # Shown once, right after they were made: otherwise back to the two-factor page.
    "second-factor-recovery-codes": Rule(logged_in, ok=(302,)),
    "second-factor-remove": Rule(role_is(*HAS_SECOND_FACTOR), method="post"),
    "api-token-list": Rule(holds_api_tokens),
    "api-token-create": Rule(holds_api_tokens, method="post"),
    "api-token-revoke": Rule(
        owns_api_token, lambda side: {"token_key": side.api_token.token_key}, method="post"
    ),
    # --- Audit trail ---
    "audit-search": Rule(role_is(Role.REVIEWER, Role.ADMINISTRATOR)),
    "audit-record-trail": (
        trail(lambda side: side.approved, sees_request, "request"),
        trail(lambda side: side.draft, staff(), "draft: not yet the authority's"),
        trail(lambda side: side.approved.decision, sees_request, "decision"),
        trail(lambda side: side.batch, sees_request, "batch"),
        trail(lambda side: side.plan, sees_follow_up, "plan"),
        trail(lambda side: side.visit, sees_follow_up, "visit"),
        trail(lambda side: side.event, sees_follow_up, "adverse event"),
        trail(lambda side: side.submitted_report, sees_follow_up, "submitted report"),
        trail(lambda side: side.open_report, staff(), "open report: not yet the authority's"),
    ),
    "audit-record-trail-csv": (
        trail(lambda side: side.approved, sees_request, "request"),
        trail(lambda side: side.open_report, staff(), "open report: not yet the authority's"),
    ),
    "audit-record-trail-pdf": (
        trail(lambda side: side.approved, sees_request, "request"),
        trail(lambda side: side.draft, staff(), "draft: not yet the authority's"),
    ),
    # --- API (SPEC §7) ---
    "api:no-such-route": (
        Rule(nobody, lambda side: {"route": f"patients/{side.patient.pk}.5/"}, about="an id with a dot"),
        Rule(nobody, lambda side: {"route": "no-such-route/"}, method="post", about="no such route"),
    ),
    "api:schema": Rule(everyone, public=True, once=True),  # the published contract (SPEC §7), for any client
    "api:registry-export-csv": Rule(role_is(Role.ANALYST), query="table=visits"),
    "api:registry-export-ndjson": Rule(role_is(Role.ANALYST)),
    "api:patient-list": (
        Rule(logged_in, listed=api_id("patient"), shown=sees_patient),
        Rule(role_is(*HOSPITAL_STAFF), method="post", about="enrol"),
    ),
    "api:patient-detail": Rule(sees_patient, pk("patient")),
    "api:exemption-list": (
        Rule(logged_in, listed=api_id("approved"), shown=sees_request),
        Rule(role_is(Role.PHARMACIST), method="post", about="new draft"),
    ),
    "api:exemption-detail": (
        Rule(sees_request, pk("approved")),
        Rule(staff(), pk("draft"), about="draft"),
        Rule(staff(Role.PHARMACIST), pk("draft"), method="patch", about="edit draft"),
    ),
    "api:exemption-transition": Rule(
        nobody,
        lambda side: {"pk": side.submitted.pk, "name": "no_such_step"},
        method="post",
        about="unknown step",
    ),
    **{
        f"api:exemption-transition-{name}": api_transition(allowed)
        for name, allowed in TRANSITION_ALLOWED.items()
    },
    "api:batch-list": (
        Rule(logged_in, listed=api_id("batch"), shown=sees_request),
        Rule(role_is(Role.PHARMACIST), method="post", about="new batch"),
    ),
    "api:batch-detail": Rule(sees_request, pk("batch")),
    "api:batch-step": Rule(
        nobody, lambda side: {"pk": side.batch.pk, "name": "no_such_step"}, method="post", about="unknown"
    ),
    **{f"api:batch-step-{name}": api_batch_step(allowed) for name, allowed in BATCH_STEP_ALLOWED.items()},
    "api:visit-list": Rule(logged_in, listed=api_id("visit"), shown=sees_follow_up),
    "api:visit-detail": Rule(sees_follow_up, pk("visit")),
    "api:visit-record": api_visit_step(staff(Role.CLINICIAN)),
    "api:visit-missed": api_visit_step(staff(Role.CLINICIAN)),
    "api:visit-reschedule": api_visit_step(staff(Role.CLINICIAN)),
    "api:adverse-event-list": (
        Rule(logged_in, listed=api_id("event"), shown=sees_follow_up),
        Rule(role_is(Role.CLINICIAN), method="post", about="record"),
    ),
    "api:adverse-event-detail": Rule(sees_follow_up, pk("event")),
}


def rules_of(name: str) -> tuple[Rule, ...]:
    rules = RULES[name]
    return rules if isinstance(rules, tuple) else (rules,)


__all__ = ["RULES", "Rule", "Side", "Who", "rules_of"]
