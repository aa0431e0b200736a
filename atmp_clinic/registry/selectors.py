"""Reads of the registry. Outcomes and adverse events are seen by whoever sees the patient's plan
(the hospital's staff, the granting authority); expedited reports by the hospital's staff and,
once submitted, by the authority they are addressed to."""

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone, translation

from atmp_clinic.accounts.models import Membership, Role, User
from atmp_clinic.accounts.selectors import active_membership
from atmp_clinic.exemptions.selectors import FormProgress
from atmp_clinic.followup.models import FollowUpVisit
from atmp_clinic.followup.selectors import plans_visible_to

from .grading import CrsCriteria, IcansCriteria
from .models import AdverseEvent, ExpeditedReport, ExportJob, OutcomeRecord, Section
from .services import RECORD_LANGUAGE, SECTION_FIELDS, adverse_event_grading, visit_sections


def export_jobs_of(*, user: User) -> QuerySet[ExportJob]:
    """The exports a person asked for, newest first: only they see them and their files."""
    return ExportJob.objects.filter(requested_by=user)


def outcomes_visible_to(*, user: User) -> QuerySet[OutcomeRecord]:
    return OutcomeRecord.objects.filter(visit__plan__in=plans_visible_to(user=user).values("pk"))


def adverse_events_visible_to(*, user: User) -> QuerySet[AdverseEvent]:
    return AdverseEvent.objects.filter(plan__in=plans_visible_to(user=user).values("pk"))


def grading_reasons_shown(event: AdverseEvent) -> list[str]:
    """How the event's grade was reached, in the reader's language. The reasons are stored in English;
    they are computed again from the stored criteria, and translated only when that computation in
    English gives the stored reasons word for word: an event graded under older wording, or criteria
    that no longer validate, read as they were recorded."""
    stored = list(event.grading_reasons)
    if not stored or event.kind not in (AdverseEvent.Kind.CRS, AdverseEvent.Kind.ICANS):
        return stored
    criteria_class = CrsCriteria if event.kind == AdverseEvent.Kind.CRS else IcansCriteria
    try:
        criteria = criteria_class(**event.grading_criteria)
    except (TypeError, ValueError):
        return stored
    # Grade 5 of a graded event comes only from its fatal outcome.
    fatal = event.grade == 5
    with translation.override(RECORD_LANGUAGE):
        recorded = adverse_event_grading(kind=event.kind, criteria=criteria, fatal=fatal).reasons
    if recorded != stored:
        return stored
    return adverse_event_grading(kind=event.kind, criteria=criteria, fatal=fatal).reasons


def expedited_reports_visible_to(*, user: User) -> QuerySet[ExpeditedReport]:
    return _reports_visible_in(active_membership(user=user))


def _reports_visible_in(membership: Membership | None) -> QuerySet[ExpeditedReport]:
    if membership is None or membership.organisation_id is None:
        return ExpeditedReport.objects.none()
    if membership.role in (Role.PHARMACIST, Role.CLINICIAN):
        return ExpeditedReport.objects.filter(hospital_id=membership.organisation_id)
    if membership.role == Role.REVIEWER:
        return ExpeditedReport.objects.filter(authority_id=membership.organisation_id).exclude(
            status=ExpeditedReport.Status.OPEN
        )
    return ExpeditedReport.objects.none()


def expedited_report_queue(*, user: User, membership: Membership | None = None) -> QuerySet[ExpeditedReport]:
    """What needs doing about reports, oldest deadline first: for the hospital those still to
    submit, for the authority those to acknowledge. `membership`: the user's active one, when the
    caller has it already."""
    membership = membership or active_membership(user=user)
    waiting = (
        ExpeditedReport.Status.SUBMITTED
        if membership and membership.role == Role.REVIEWER
        else ExpeditedReport.Status.OPEN
    )
    return (
        _reports_visible_in(membership)
        .filter(status=waiting)
        .select_related("adverse_event__patient", "hospital")
        .order_by("due_on", "pk")
    )


def _given(value) -> bool:
    return value not in (None, "", [])


def _section_complete(section: str, values: dict) -> bool:
    """A section is complete when it says what the registry needs from it: the vital status (with the
    date of death for a death), any laboratory result (not every test is done at every visit), and
    every answer of the other sections (EQ-5D-5L is scored only whole)."""
    if section == Section.VITAL_STATUS:
        status = values.get("vital_status")
        return _given(status) and (
            status != OutcomeRecord.VitalStatus.DEAD or _given(values.get("date_of_death"))
        )
    if section == Section.LABORATORY:
        return any(_given(values.get(name)) for name in SECTION_FIELDS[section])
    return all(_given(values.get(name)) for name in SECTION_FIELDS[section])


def outcome_progress(*, visit: FollowUpVisit, values: dict) -> FormProgress:
    """How far the outcome form of a visit is, from the values typed (a draft's or a form's)."""
    return FormProgress(
        [
            (section, Section(section).label, _section_complete(section, values))
            for section in visit_sections(visit)
        ]
    )


# A worker starts a job within seconds; the sweep hands it to one again every five minutes when
# the broker lost it.
WORKER_EXPECTED_WITHIN = timedelta(minutes=2)


def minutes_waiting_for_a_worker(job) -> int | None:
    """How long a job asked for on a page (an export, an annual report) has waited for a worker, in
    whole minutes, once that is longer than a worker takes to start one; None otherwise. With no
    worker running, the page said "Waiting for a worker" for ever and nothing more."""
    if job.status != ExportJob.Status.QUEUED:
        return None
    waited = timezone.now() - job.created_at
    return int(waited.total_seconds() // 60) if waited > WORKER_EXPECTED_WITHIN else None
