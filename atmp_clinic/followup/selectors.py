"""Reads of follow-up plans and visits. A plan is seen by those who see its patient (the hospital's
staff) or its exemption request (the authority). Patients see only their own upcoming visits, in the
portal, never the records behind them (notes, history)."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.accounts.selectors import active_membership, granted_ids, has_role_in
from atmp_clinic.exemptions.models import ExemptionRequest
from atmp_clinic.exemptions.selectors import PageRows, WorklistSection
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


def visits_by_id(ids: list[int]) -> list[FollowUpVisit]:
    """A page of a worklist's visits, in the order of their ids."""
    # By id alone: the ids come from the visible plans. Only the row's columns (as requests_of_rows).
    by_pk = (
        FollowUpVisit.objects.select_related("plan__patient")
        .only(
            "label", "due_on", "window_opens_on", "window_closes_on", "modality", "status",
            "plan__at_risk_since", "plan__patient__pseudonym",
        )
        .in_bulk(ids)
    )  # fmt: skip
    return [by_pk[pk] for pk in ids]


@dataclass(frozen=True)
class ClinicianWorklist:
    sections: list[WorklistSection]
    at_risk: QuerySet[FollowUpPlan]  # patients who missed two visits in a row, longest first


def clinician_worklist(*, user: User, today: date) -> ClinicianWorklist:
    """What the hospital's follow-up needs now, most urgent first: overdue visits whose window
    closes soonest, then those due this week, then recent misses to chase; and the patients at
    risk of loss to follow-up."""
    # The visible plans are read once, as ids: inlined in each section's query, the planner guessed
    # most plans visible and scanned every visit three times (bench/worklists.py: 6 s at 20,000
    # patients); given the ids it reads only their visits through the plan and due-date indexes.
    plans = list(
        plans_visible_to(user=user)
        .filter(status=FollowUpPlan.Status.ACTIVE)
        .order_by()
        .values_list("pk", "at_risk_since")
    )
    plan_ids = [pk for pk, _ in plans]
    # Then every visit a section lists, in one light read that each section takes its own from; only
    # a page of each is read in full. With each section's visits read in full, joined to their
    # plans and patients, the planner guessed thousands of overdue visits where there were tens and
    # hash-joined every plan and patient to them (bench/worklists.py: 79 ms of the page).
    scheduled, missed = FollowUpVisit.Status.SCHEDULED, FollowUpVisit.Status.MISSED
    week_ahead, missed_since = today + timedelta(days=7), today - MISSED_SHOWN_FOR
    listed = list(
        FollowUpVisit.objects.filter(plan_id__in=plan_ids)
        .filter(Q(status=scheduled, due_on__lte=week_ahead) | Q(status=missed, due_on__gte=missed_since))
        # Unordered: each section sorts its own, and the visits' default order (by plan) joined
        # every listed visit to its plan only to sort them.
        .order_by()
        .values_list("pk", "status", "due_on", "window_closes_on")
    )

    def ids(keep, order) -> PageRows:
        return PageRows([pk for pk, *_ in sorted(filter(keep, listed), key=order)], visits_by_id)

    sections = [
        WorklistSection(
            "visits-overdue", _("Overdue visits"), _("No visit is overdue."),
            ids(lambda v: v[1] == scheduled and v[2] < today, lambda v: (v[3], v[2], v[0])),
        ),
        WorklistSection(
            "visits-due", _("Visits due in the next 7 days"), _("No visit is due in the next 7 days."),
            ids(lambda v: v[1] == scheduled and v[2] >= today, lambda v: (v[2], v[0])),
        ),
        WorklistSection(
            "visits-missed", _("Missed in the last 90 days"), _("No visit was missed in the last 90 days."),
            ids(lambda v: v[1] == missed, lambda v: (-v[2].toordinal(), v[0])),
        ),
    ]  # fmt: skip
    at_risk = (
        # By the few at risk, not all the visible plans' ids again: their SQL text alone cost the
        # page more than its query (bench/worklists.py).
        FollowUpPlan.objects.filter(pk__in=[pk for pk, at_risk_since in plans if at_risk_since])
        .select_related("patient")
        .order_by("at_risk_since", "pk")
    )
    return ClinicianWorklist(sections, at_risk)


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
