"""Writes to follow-up plans. A plan is made when a product is given (day 0), from the template
and duration the authority's decision names."""

from datetime import date

from dateutil.relativedelta import relativedelta
from django.db import transaction

from atmp_clinic.audit.services import record_event
from atmp_clinic.manufacturing.models import Administration

from .models import FollowUpPlan, FollowUpTemplateDefinition, FollowUpVisit, Modality, OffsetUnit


def due_date(starts_on: date, offset: int, unit: str) -> date:
    """Calendar arithmetic: month 6 after 31 August is the last day of February, not 3 March."""
    return starts_on + relativedelta(**{unit: offset})


def window_days(offset: int, unit: str) -> int:
    """SPEC §3: ±3 days up to day 28, ±14 days up to month 12, ±30 days after."""
    days = {OffsetUnit.DAY: offset, OffsetUnit.MONTH: offset * 30, OffsetUnit.YEAR: offset * 365}[unit]
    if days <= 28:
        return 3
    return 14 if days <= 365 else 30


def _visit(
    plan: FollowUpPlan, *, label: str, offset: int, unit: str, window: int, modality: str, collects
) -> FollowUpVisit:
    due = due_date(plan.starts_on, offset, unit)
    return FollowUpVisit(
        plan=plan, label=label, due_on=due, window_opens_on=due - relativedelta(days=window),
        window_closes_on=due + relativedelta(days=window), modality=modality, collects=list(collects),
    )  # fmt: skip


@transaction.atomic
def plan_create(*, administration: Administration) -> FollowUpPlan:
    """The plan of the decision's template over the decision's duration. Visits beyond the
    template's own years continue yearly, like its last visit. Day 0 is the request's first
    administration: a later one under the same permit keeps that plan."""
    existing = FollowUpPlan.objects.filter(administration__request=administration.request).first()
    if existing:
        return existing
    decision = administration.request.decision
    template = FollowUpTemplateDefinition.objects.prefetch_related("visits").get(
        code=decision.follow_up_template
    )
    starts_on = administration.administered_at.date()
    plan = FollowUpPlan.objects.create(
        administration=administration,
        patient=administration.patient,
        template_code=template.code,
        duration_years=decision.follow_up_years,
        starts_on=starts_on,
        ends_on=due_date(starts_on, decision.follow_up_years, OffsetUnit.YEAR),
    )
    visits = [
        _visit(plan, label=d.label, offset=d.offset, unit=d.offset_unit, window=d.window_days, modality=d.modality,
               collects=d.collects)
        for d in template.visits.all()
    ]  # fmt: skip
    visits = [visit for visit in visits if visit.due_on <= plan.ends_on]
    last = max(
        template.visits.all(), key=lambda d: due_date(starts_on, d.offset, d.offset_unit), default=None
    )
    for year in range(template.duration_years + 1, decision.follow_up_years + 1):
        visits.append(
            _visit(plan, label=f"Year {year}", offset=year, unit=OffsetUnit.YEAR, window=30,
                   modality=last.modality if last else Modality.PHONE, collects=last.collects if last else [])
        )  # fmt: skip
    FollowUpVisit.objects.bulk_create(visits)
    record_event(
        actor=administration.administered_by, obj=administration.request, action="follow_up_plan_created",
        after={"template": template.code, "years": plan.duration_years, "visits": len(visits),
               "starts_on": starts_on, "ends_on": plan.ends_on},
    )  # fmt: skip
    return plan
