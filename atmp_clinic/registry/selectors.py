"""Reads of the registry. Outcomes and adverse events are seen by whoever sees the patient's plan
(the hospital's staff, the granting authority); expedited reports by the hospital's staff and,
once submitted, by the authority they are addressed to."""

from django.db.models import QuerySet

from atmp_clinic.accounts.models import Membership, Role, User
from atmp_clinic.accounts.selectors import active_membership
from atmp_clinic.followup.selectors import plans_visible_to

from .models import AdverseEvent, ExpeditedReport, OutcomeRecord


def outcomes_visible_to(*, user: User) -> QuerySet[OutcomeRecord]:
    return OutcomeRecord.objects.filter(visit__plan__in=plans_visible_to(user=user).values("pk"))


def adverse_events_visible_to(*, user: User) -> QuerySet[AdverseEvent]:
    return AdverseEvent.objects.filter(plan__in=plans_visible_to(user=user).values("pk"))


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


def expedited_report_queue(*, user: User) -> QuerySet[ExpeditedReport]:
    """What needs doing about reports, oldest deadline first: for the hospital those still to
    submit, for the authority those to acknowledge."""
    membership = active_membership(user=user)
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
