"""Writes to follow-up plans and visits. A plan is made when a product is given (day 0), from the
template and duration the authority's decision names; the hospital's clinicians record, miss and
reschedule its visits; the authority may lengthen it; death or withdrawn consent ends it. Every
change is audited, and nothing is deleted: ended plans keep their cancelled visits."""

import json
import logging
from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.accounts.selectors import has_role_in
from atmp_clinic.audit.services import record_event
from atmp_clinic.manufacturing.models import Administration
from atmp_clinic.patients.models import Patient

from .models import (
    FollowUpPlan,
    FollowUpTemplateDefinition,
    FollowUpVisit,
    Modality,
    OffsetUnit,
    OutboxMessage,
    VisitDraft,
)
from .selectors import may_amend_plan

logger = logging.getLogger(__name__)

# An extra visit the authority asks for records at least how the patient is and what happened.
EXTRA_VISIT_COLLECTS = ["vital_status", "adverse_events"]
NOT_A_CLINICIAN = "Only a clinician of the patient's hospital can record follow-up visits."
NOT_A_DECIDER = "Only a decider of the authority that granted the exemption can amend its follow-up plan."


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


def _locked_visit(visit: FollowUpVisit) -> FollowUpVisit:
    return (
        FollowUpVisit.objects.select_for_update(of=("self",))
        .select_related("plan__patient__hospital")
        .get(pk=visit.pk)
    )


def _require_clinician(actor: User, visit: FollowUpVisit) -> None:
    if not has_role_in(user=actor, organisation=visit.plan.patient.hospital, roles={Role.CLINICIAN}):
        raise PermissionDenied(NOT_A_CLINICIAN)


def _require_open(visit: FollowUpVisit, *allowed: str) -> None:
    if visit.plan.status == FollowUpPlan.Status.ENDED:
        raise ValidationError(
            gettext("The follow-up plan ended on %(ended)s (%(reason)s); its visits can no longer change.")
            % {
                "ended": date_format(visit.plan.ended_on, "d F Y"),
                "reason": visit.plan.get_end_reason_display().lower(),
            }
        )
    if visit.status not in allowed:
        raise ValidationError(
            gettext("This visit is already %(status)s.") % {"status": visit.get_status_display().lower()}
        )


def _snapshot(visit: FollowUpVisit) -> dict:
    return {
        "status": visit.status,
        "due_on": visit.due_on,
        "performed_on": visit.performed_on,
        "out_of_window_reason": visit.out_of_window_reason,
        "note": visit.note,
    }


def _cancel_pending_reminders(visits, *, why: str) -> int:
    """Reminders not yet claimed by a worker; one already being sent is left to finish."""
    return OutboxMessage.objects.filter(visit__in=visits, status=OutboxMessage.Status.PENDING).update(
        status=OutboxMessage.Status.CANCELLED, last_error=why
    )


def _update_risk(*, plan: FollowUpPlan, actor: User | None, today: date) -> None:
    """SPEC §2: two consecutive misses flag the patient "at risk of loss to follow-up"; a visit
    done afterwards lifts the flag."""
    last_two = list(
        plan.visits.filter(status__in=(FollowUpVisit.Status.COMPLETED, FollowUpVisit.Status.MISSED))
        .order_by("-due_on")
        .values_list("status", flat=True)[:2]
    )
    at_risk = last_two == [FollowUpVisit.Status.MISSED, FollowUpVisit.Status.MISSED]
    if at_risk == plan.is_at_risk:
        return
    plan.at_risk_since = today if at_risk else None
    plan.save(update_fields=["at_risk_since"])
    record_event(
        actor=actor, obj=plan, action="at_risk_of_loss_flagged" if at_risk else "at_risk_of_loss_cleared",
        after={"at_risk_since": plan.at_risk_since},
    )  # fmt: skip


@transaction.atomic
def visit_record(
    *, actor: User, visit: FollowUpVisit, performed_on: date, out_of_window_reason: str = "", note: str = ""
) -> FollowUpVisit:
    """The visit took place. A date outside its window is accepted with the reason."""
    visit = _locked_visit(visit)
    _require_clinician(actor, visit)
    _require_open(visit, FollowUpVisit.Status.SCHEDULED, FollowUpVisit.Status.MISSED)
    plan, today = visit.plan, timezone.localdate()
    if performed_on < plan.starts_on:
        raise ValidationError(
            {
                "performed_on": gettext("A follow-up visit cannot be before the administration on %(day)s.")
                % {"day": date_format(plan.starts_on, "d F Y")}
            }
        )
    if performed_on > today:
        raise ValidationError(
            {"performed_on": gettext("A visit cannot be recorded for a date in the future.")}
        )
    death = plan.patient.date_of_death
    if death and performed_on > death:
        raise ValidationError(
            {"performed_on": gettext("The patient died on %(day)s.") % {"day": date_format(death, "d F Y")}}
        )
    out_of_window_reason = out_of_window_reason.strip()
    in_window = visit.window_opens_on <= performed_on <= visit.window_closes_on
    if not in_window and not out_of_window_reason:
        raise ValidationError(
            {
                "out_of_window_reason": gettext(
                    "%(day)s is outside the visit's window (%(opens)s to %(closes)s): say why."
                )
                % {
                    "day": date_format(performed_on, "d F Y"),
                    "opens": date_format(
                        visit.window_opens_on, "d F" if visit.window_in_one_year else "d F Y"
                    ),
                    "closes": date_format(visit.window_closes_on, "d F Y"),
                }
            }
        )
    before = _snapshot(visit)
    visit.status = FollowUpVisit.Status.COMPLETED
    visit.performed_on = performed_on
    visit.out_of_window_reason = "" if in_window else out_of_window_reason
    visit.note = note.strip()
    visit.recorded_by, visit.recorded_at = actor, timezone.now()
    visit.save()
    _cancel_pending_reminders([visit], why="The visit took place.")
    drafts_discard(visit=visit, form=VisitDraft.Form.RECORD)
    record_event(
        actor=actor, obj=visit, action="visit_recorded", before=before, after=_snapshot(visit),
        reason=visit.out_of_window_reason,
    )  # fmt: skip
    _update_risk(plan=plan, actor=actor, today=today)
    return visit


# The state a visit must be in for each form to be drafted: the same as for recording it.
DRAFTABLE_STATUSES = {
    VisitDraft.Form.RECORD: (FollowUpVisit.Status.SCHEDULED, FollowUpVisit.Status.MISSED),
    VisitDraft.Form.OUTCOME: (FollowUpVisit.Status.COMPLETED,),
}


@transaction.atomic
def visit_draft_save(*, actor: User, visit: FollowUpVisit, form: str, data: dict) -> VisitDraft:
    """Keep a clinician's form as typed, complete or not, to finish later. Saving a draft changes
    nothing about the visit, so it writes no audit event (the trail holds what was recorded, and the
    recording is audited when it happens); the draft row says who saved it and when."""
    visit = _locked_visit(visit)
    _require_clinician(actor, visit)
    _require_open(visit, *DRAFTABLE_STATUSES[form])
    draft, _ = VisitDraft.objects.update_or_create(
        visit=visit,
        form=form,
        author=actor,
        defaults={
            "hospital": visit.plan.patient.hospital,
            # Dates and decimals as the text the form's widgets show, so the draft reloads as typed.
            "data": json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
            "saved_at": timezone.now(),
        },
    )
    logger.info("visit %s: %s draft saved by user %s", visit.pk, form, actor.pk)
    return draft


def drafts_discard(*, visit: FollowUpVisit, form: str) -> None:
    """Once a form is recorded, everyone's draft of it is out of date."""
    VisitDraft.objects.filter(visit=visit, form=form).delete()


@transaction.atomic
def visit_mark_missed(*, actor: User, visit: FollowUpVisit, note: str = "") -> FollowUpVisit:
    visit = _locked_visit(visit)
    _require_clinician(actor, visit)
    _require_open(visit, FollowUpVisit.Status.SCHEDULED)
    if visit.window_opens_on > timezone.localdate():
        raise ValidationError(
            gettext("A visit whose window has not opened yet cannot be missed; reschedule it instead.")
        )
    before = _snapshot(visit)
    visit.status = FollowUpVisit.Status.MISSED
    visit.note = note.strip()
    visit.recorded_by, visit.recorded_at = actor, timezone.now()
    visit.save()
    _cancel_pending_reminders([visit], why="The visit was missed.")
    record_event(actor=actor, obj=visit, action="visit_missed", before=before, after=_snapshot(visit))
    _update_risk(plan=visit.plan, actor=actor, today=timezone.localdate())
    return visit


@transaction.atomic
def visit_reschedule(*, actor: User, visit: FollowUpVisit, due_on: date, reason: str) -> FollowUpVisit:
    """A new appointment date, inside or beyond the protocol's window, which stays as it was so
    compliance is still measured against it."""
    visit = _locked_visit(visit)
    _require_clinician(actor, visit)
    _require_open(visit, FollowUpVisit.Status.SCHEDULED)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": gettext("Say why the visit is rescheduled.")})
    if due_on < timezone.localdate():
        raise ValidationError(
            {"due_on": gettext("A visit cannot be rescheduled to a past date; record it instead.")}
        )
    if due_on == visit.due_on:
        raise ValidationError({"due_on": gettext("The visit is already due on that date.")})
    before = _snapshot(visit)
    visit.originally_due_on = visit.originally_due_on or visit.due_on
    visit.due_on = due_on
    visit.save(update_fields=["originally_due_on", "due_on"])
    _cancel_pending_reminders(
        [visit], why="The visit was rescheduled; the new date has reminders of its own."
    )
    record_event(
        actor=actor, obj=visit, action="visit_rescheduled", before=before, after=_snapshot(visit), reason=reason
    )  # fmt: skip
    return visit


@transaction.atomic
def visits_miss_closed_windows(*, today: date) -> int:
    """Daily: SPEC §2 "missed = window closed". Rescheduled visits are missed once their new date
    has passed too."""
    closed = list(
        FollowUpVisit.objects.select_for_update(of=("self",))
        .filter(status=FollowUpVisit.Status.SCHEDULED, plan__status=FollowUpPlan.Status.ACTIVE)
        .filter(window_closes_on__lt=today, due_on__lt=today)
        .select_related("plan")
    )
    for visit in closed:
        before = _snapshot(visit)
        visit.status = FollowUpVisit.Status.MISSED
        visit.save(update_fields=["status"])
        record_event(actor=None, obj=visit, action="visit_missed", before=before, after=_snapshot(visit),
                     reason="The visit's window closed without a visit recorded.")  # fmt: skip
    _cancel_pending_reminders(closed, why="The visit was missed.")
    for plan in {visit.plan_id: visit.plan for visit in closed}.values():
        _update_risk(plan=plan, actor=None, today=today)
    return len(closed)


@transaction.atomic
def plans_end(*, actor: User, patient: Patient, reason: str, ended_on: date) -> list[FollowUpPlan]:
    """Death or withdrawn consent ends the patient's follow-up: remaining visits are cancelled and
    kept, their reminders stopped. Called by the patients' services that record either."""
    plans = list(
        FollowUpPlan.objects.select_for_update().filter(patient=patient, status=FollowUpPlan.Status.ACTIVE)
    )
    for plan in plans:
        remaining = list(plan.visits.filter(status=FollowUpVisit.Status.SCHEDULED))
        plan.visits.filter(pk__in=[v.pk for v in remaining]).update(status=FollowUpVisit.Status.CANCELLED)
        with translation.override(settings.LANGUAGE_CODE):  # kept on the outbox rows, for staff
            why = f"The follow-up plan ended: {FollowUpPlan.EndReason(reason).label.lower()}."
        _cancel_pending_reminders(remaining, why=why)
        plan.status, plan.ended_on, plan.end_reason = FollowUpPlan.Status.ENDED, ended_on, reason
        plan.save(update_fields=["status", "ended_on", "end_reason"])
        record_event(
            actor=actor, obj=plan, action="follow_up_plan_ended", before={"status": FollowUpPlan.Status.ACTIVE},
            after={"status": plan.status, "ended_on": ended_on, "visits_cancelled": [v.label for v in remaining]},
            reason=FollowUpPlan.EndReason(reason).label,
        )  # fmt: skip
    return plans


@transaction.atomic
def plan_amend(
    *,
    actor: User,
    plan: FollowUpPlan,
    reason: str,
    duration_years: int | None = None,
    extra_visits: list[dict] | None = None,
) -> FollowUpPlan:
    """The authority lengthens a plan or adds visits to it (each a dict of label, due_on,
    window_days and modality). Existing visits are never rewritten."""
    plan = FollowUpPlan.objects.select_for_update().select_related("administration__request").get(pk=plan.pk)
    if not may_amend_plan(user=actor, plan=plan):
        raise PermissionDenied(NOT_A_DECIDER)
    if plan.status != FollowUpPlan.Status.ACTIVE:
        raise ValidationError(gettext("An ended follow-up plan cannot be amended."))
    reason, extra_visits, today = reason.strip(), extra_visits or [], timezone.localdate()
    if not reason:
        raise ValidationError({"reason": gettext("Say why the plan is amended.")})
    if duration_years is not None and duration_years <= plan.duration_years:
        raise ValidationError(
            {
                "duration_years": gettext("An amendment can only lengthen the plan beyond %(years)s years.")
                % {"years": plan.duration_years}
            }
        )
    if duration_years is None and not extra_visits:
        raise ValidationError(gettext("Lengthen the plan or add at least one visit."))
    before = {"duration_years": plan.duration_years, "ends_on": plan.ends_on}
    new_visits = []
    if duration_years is not None:
        last = plan.visits.order_by("-due_on").first()
        for year in range(plan.duration_years + 1, duration_years + 1):
            new_visits.append(
                _visit(plan, label=f"Year {year}", offset=year, unit=OffsetUnit.YEAR, window=30,
                       modality=last.modality if last else Modality.PHONE, collects=last.collects if last else [])
            )  # fmt: skip
        plan.duration_years = duration_years
        plan.ends_on = due_date(plan.starts_on, duration_years, OffsetUnit.YEAR)
    for extra in extra_visits:
        due = extra["due_on"]
        if due < max(today, plan.starts_on):
            raise ValidationError({"due_on": gettext("An added visit must be due today or later.")})
        if due > plan.ends_on:
            raise ValidationError(
                {
                    "due_on": gettext("An added visit must be due by the plan's end (%(ends)s).")
                    % {"ends": date_format(plan.ends_on, "d F Y")}
                }
            )
        window = relativedelta(days=extra["window_days"])
        new_visits.append(
            FollowUpVisit(plan=plan, label=extra["label"], due_on=due, window_opens_on=due - window,
                          window_closes_on=due + window, modality=extra["modality"], collects=EXTRA_VISIT_COLLECTS)
        )  # fmt: skip
    for visit in new_visits:
        visit.added_by_amendment = True
    plan.save(update_fields=["duration_years", "ends_on"])
    FollowUpVisit.objects.bulk_create(new_visits)
    record_event(
        actor=actor, obj=plan, action="follow_up_plan_amended", before=before,
        after={"duration_years": plan.duration_years, "ends_on": plan.ends_on,
               "visits_added": [{"label": v.label, "due_on": v.due_on} for v in new_visits]},
        reason=reason,
    )  # fmt: skip
    return plan
