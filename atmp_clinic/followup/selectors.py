"""Reads of follow-up plans and visits. A plan is seen by those who see its patient (the hospital's
staff) or its exemption request (the authority). Patients see only their own upcoming visits, in the
portal, never the records behind them (notes, history)."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.accounts.selectors import active_membership, granted_ids, has_role_in
from atmp_clinic.exemptions.models import ExemptionRequest
from atmp_clinic.patients.models import Patient

from .models import FollowUpPlan, FollowUpVisit, OutboxMessage, VisitDraft

MISSED_SHOWN_FOR = timedelta(days=90)


def plans_visible_to(*, user: User) -> QuerySet[FollowUpPlan]:
    if not user.is_authenticated or not user.is_active:
        return FollowUpPlan.objects.none()
    # Plans whose patient, or whose exemption request, the user sees: the union of two id lists,
    # each found through an index from the user's grants. As Q(…) | Q(…) of EXISTS filters the
    # planner joined every plan to its administration to test the OR (bench/worklists.py: 57 ms).
    # Unordered: SQLite (make run) refuses an ORDER BY inside a UNION's parts.
    by_patient = (
        FollowUpPlan.objects.filter(patient__in=granted_ids(user=user, model=Patient)).order_by().values("pk")
    )
    by_request = (
        FollowUpPlan.objects.filter(
            administration__request__in=granted_ids(user=user, model=ExemptionRequest)
        )
        .order_by()
        .values("pk")
    )
    return FollowUpPlan.objects.filter(pk__in=by_patient.union(by_request))


def visits_visible_to(*, user: User) -> QuerySet[FollowUpVisit]:
    return FollowUpVisit.objects.filter(plan__in=plans_visible_to(user=user).values("pk"))


def may_change_visit(*, user: User, visit: FollowUpVisit) -> bool:
    """Only the clinicians of the patient's hospital record, miss and reschedule visits; pages and the
    API ask first so that others get 404 before a body is read. The services check again, under lock."""
    return has_role_in(user=user, organisation=visit.plan.patient.hospital, roles={Role.CLINICIAN})


def may_amend_plan(*, user: User, plan: FollowUpPlan) -> bool:
    """Amending a plan is the granting authority's decision: its deciders only."""
    membership = active_membership(user=user)
    return (
        bool(membership)
        and membership.is_decider
        and (membership.organisation_id == plan.administration.request.authority_id)
    )


def _with_context(visits: QuerySet[FollowUpVisit]) -> QuerySet[FollowUpVisit]:
    return visits.select_related("plan__patient", "plan__administration__request__product")


@dataclass(frozen=True)
class VisitSection:
    id: str
    title: str
    empty: str
    visits: list[FollowUpVisit]


def clinician_worklist(*, user: User, today: date) -> list[VisitSection]:
    """What the hospital's follow-up needs now, most urgent first: overdue visits whose window
    closes soonest, then those due this week, then recent misses to chase."""
    # The visible plans are read once, as ids: inlined in each section's query, the planner guessed
    # most plans visible and scanned every visit three times (bench/worklists.py: 6 s at 20,000
    # patients); given the ids it reads only their visits through the plan and due-date indexes.
    plan_ids = list(
        plans_visible_to(user=user).filter(status=FollowUpPlan.Status.ACTIVE).values_list("pk", flat=True)
    )
    visible = _with_context(FollowUpVisit.objects.filter(plan_id__in=plan_ids))
    scheduled = visible.filter(status=FollowUpVisit.Status.SCHEDULED)
    return [
        VisitSection(
            "visits-overdue", _("Overdue visits"), _("No visit is overdue."),
            list(scheduled.filter(due_on__lt=today).order_by("window_closes_on", "due_on")),
        ),
        VisitSection(
            "visits-due", _("Visits due in the next 7 days"), _("No visit is due in the next 7 days."),
            list(scheduled.filter(due_on__gte=today, due_on__lte=today + timedelta(days=7)).order_by("due_on")),
        ),
        VisitSection(
            "visits-missed", _("Missed in the last 90 days"), _("No visit was missed in the last 90 days."),
            list(
                visible.filter(status=FollowUpVisit.Status.MISSED, due_on__gte=today - MISSED_SHOWN_FOR)
                .order_by("-due_on")
            ),
        ),
    ]  # fmt: skip


def patients_at_risk(*, user: User) -> QuerySet[FollowUpPlan]:
    return (
        plans_visible_to(user=user)
        .filter(status=FollowUpPlan.Status.ACTIVE, at_risk_since__isnull=False)
        .select_related("patient")
        .order_by("at_risk_since")
    )


def own_upcoming_visits(*, user: User) -> QuerySet[FollowUpVisit]:
    """A patient's own visits still to come (overdue ones included: they still have to happen)."""
    return (
        FollowUpVisit.objects.filter(
            plan__patient__user=user,
            plan__status=FollowUpPlan.Status.ACTIVE,
            status=FollowUpVisit.Status.SCHEDULED,
        )
        .select_related("plan__patient__hospital")
        .order_by("due_on")
    )


def visit_messages(*, visit: FollowUpVisit) -> QuerySet[OutboxMessage]:
    return visit.messages.order_by("created_at")


def visit_draft_for(*, user: User, visit: FollowUpVisit, form: str) -> VisitDraft | None:
    """The user's own draft of a visit's form, saved in the hospital they work for now: a draft is
    never shown to a colleague, nor to the same person once they work elsewhere."""
    membership = active_membership(user=user)
    if membership is None:
        return None
    return VisitDraft.objects.filter(
        visit=visit, form=form, author=user, hospital=membership.organisation_id
    ).first()
