from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from atmp_clinic.accounts.models import Role
from atmp_clinic.accounts.selectors import active_membership
from atmp_clinic.audit.selectors import trail
from atmp_clinic.documents import visit_schedule
from atmp_clinic.documents.models import DocumentKind
from atmp_clinic.documents.views import issued_pdf
from atmp_clinic.exemptions.views import add_errors
from atmp_clinic.patients import services as patient_services
from atmp_clinic.patients.selectors import can_see_identity
from atmp_clinic.registry.models import section_names
from atmp_clinic.registry.views import (
    may_record_adverse_event,
    plan_adverse_events_context,
    visit_outcome_context,
)

from . import services
from .calendar import visits_calendar
from .forms import (
    PlanAmendForm,
    ReminderChannelsForm,
    VisitMissedForm,
    VisitRecordForm,
    VisitRescheduleForm,
    drafting,
)
from .models import FollowUpPlan, FollowUpVisit, VisitDraft
from .selectors import (
    may_amend_plan,
    may_change_visit,
    own_upcoming_visits,
    plans_visible_to,
    visit_draft_for,
    visit_messages,
    visits_visible_to,
)

VISIT_STEPS = {
    "record": (_("Record the visit"), VisitRecordForm, services.visit_record),
    "missed": (_("Mark as missed"), VisitMissedForm, services.visit_mark_missed),
    "reschedule": (_("Reschedule"), VisitRescheduleForm, services.visit_reschedule),
}
STEPS_BY_STATUS = {
    FollowUpVisit.Status.SCHEDULED: ("record", "reschedule", "missed"),
    FollowUpVisit.Status.MISSED: ("record",),  # a late visit still counts, outside its window
}


def _guarded(form, call) -> bool:
    """Run a service for a form; its refusal goes on the form, and a person it is not for gets 404."""
    try:
        call()
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as error:
        add_errors(form, error)
        return False
    return True


def _visible_visit(request, pk: int) -> FollowUpVisit:
    visits = visits_visible_to(user=request.user).select_related(
        "plan__patient__hospital", "plan__administration__request", "recorded_by"
    )
    return get_object_or_404(visits, pk=pk)


def _visit_steps(request, visit: FollowUpVisit) -> tuple[str, ...]:
    if visit.plan.status != FollowUpPlan.Status.ACTIVE:
        return ()
    if not may_change_visit(user=request.user, visit=visit):
        return ()
    return STEPS_BY_STATUS.get(visit.status, ())


@login_required
def visit_detail(request, pk: int, *, failed_step: str = "", failed_form=None, status: int = 200):
    visit = _visible_visit(request, pk)
    available = _visit_steps(request, visit)
    # The record of the visit can be kept as a draft: the clinician's own comes back as they left it.
    draft = (
        visit_draft_for(user=request.user, visit=visit, form=VisitDraft.Form.RECORD)
        if "record" in available
        else None
    )
    steps = []
    for step in available:
        label, form_class, _service = VISIT_STEPS[step]
        if step == failed_step:
            form = failed_form
        else:
            form = form_class(initial=draft.data) if step == "record" and draft else form_class()
        steps.append((step, label, form))
    context = {
        "visit": visit,
        "plan": visit.plan,
        "collects": section_names(visit.collects),
        "steps": steps,
        "record_draft": draft,
        "events": trail(obj=visit),
        "reminders": visit_messages(visit=visit),
        # Adverse events are found at visits: the form opens with this visit chosen.
        "may_record_adverse_event": may_record_adverse_event(request, visit.plan),
        **visit_outcome_context(request, visit),
    }
    return render(request, "followup/visit_detail.html", context, status=status)


@login_required
@require_POST
def visit_step(request, pk: int, step: str):
    visit = _visible_visit(request, pk)
    if step not in _visit_steps(request, visit):
        raise Http404
    label, form_class, service = VISIT_STEPS[step]
    form = form_class(request.POST)
    if form.is_valid() and _guarded(
        form, lambda: service(actor=request.user, visit=visit, **form.cleaned_data)
    ):
        messages.success(request, _("%(step)s: done.") % {"step": label})
        return redirect("visit-detail", pk=visit.pk)
    return visit_detail(request, pk, failed_step=step, failed_form=form, status=400)


@login_required
@require_POST
def visit_record_draft(request, pk: int):
    """Keep the record of the visit as typed, to finish later; the visit stays as it is."""
    visit = _visible_visit(request, pk)
    if "record" not in _visit_steps(request, visit):
        raise Http404
    form = drafting(VisitRecordForm(request.POST))
    if form.is_valid() and _guarded(
        form,
        lambda: services.visit_draft_save(
            actor=request.user, visit=visit, form=VisitDraft.Form.RECORD, data=form.cleaned_data
        ),
    ):
        messages.success(request, _("Draft saved. The visit is not recorded until you record it."))
        return redirect("visit-detail", pk=visit.pk)
    return visit_detail(request, pk, failed_step="record", failed_form=form, status=400)


def _visible_plan(request, pk: int) -> FollowUpPlan:
    plans = plans_visible_to(user=request.user).select_related(
        "patient__hospital", "administration__request__authority", "administration__batch"
    )
    return get_object_or_404(plans, pk=pk)


def _may_amend(request, plan: FollowUpPlan) -> bool:
    return plan.status == FollowUpPlan.Status.ACTIVE and may_amend_plan(user=request.user, plan=plan)


@login_required
def plan_detail(request, pk: int, *, amend_form=None, status: int = 200):
    plan = _visible_plan(request, pk)
    context = {
        "plan": plan,
        "visits": plan.visits.order_by("due_on"),
        "amend_form": (amend_form or PlanAmendForm()) if _may_amend(request, plan) else None,
        "may_print_letter": can_see_identity(user=request.user, patient=plan.patient),
        "events": trail(obj=plan),
        **plan_adverse_events_context(request, plan),
    }
    return render(request, "followup/plan_detail.html", context, status=status)


@login_required
@require_GET
def plan_schedule_pdf(request, pk: int):
    """The patient's visit schedule letter, printed by their hospital to hand or post it. It is
    addressed by name, so only those who may see the patient's identity get it (not the authority)."""
    plan = _visible_plan(request, pk)
    if not can_see_identity(user=request.user, patient=plan.patient):
        raise Http404
    return issued_pdf(
        request, kind=DocumentKind.VISIT_SCHEDULE, record=plan, build=lambda: visit_schedule.build(plan)
    )


@login_required
@require_POST
def plan_amend(request, pk: int):
    plan = _visible_plan(request, pk)
    if not _may_amend(request, plan):
        raise Http404
    form = PlanAmendForm(request.POST)
    if form.is_valid() and _guarded(
        form, lambda: services.plan_amend(actor=request.user, plan=plan, **form.amendment())
    ):
        messages.success(request, _("The follow-up plan is amended."))
        return redirect("plan-detail", pk=plan.pk)
    return plan_detail(request, pk, amend_form=form, status=400)


def _own_patient(request):
    """The patient record of the logged-in patient user; everyone else gets 404."""
    membership = active_membership(user=request.user)
    patient = getattr(request.user, "patient", None)
    if membership is None or membership.role != Role.PATIENT or patient is None:
        raise Http404
    return patient


@login_required
def own_calendar(request):
    patient = _own_patient(request)
    identity = getattr(patient, "identity", None)
    language = identity.preferred_language if identity else "en"
    response = HttpResponse(
        visits_calendar(own_upcoming_visits(user=request.user), language=language),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="my-follow-up-visits.ics"'
    return response


@login_required
@require_GET
def own_schedule_pdf(request):
    """The logged-in patient's own letter, for their current plan (the latest active one)."""
    patient = _own_patient(request)
    plan = (
        patient.follow_up_plans.filter(status=FollowUpPlan.Status.ACTIVE)
        .select_related("patient__hospital", "patient__identity")
        .first()
    )
    if plan is None:
        raise Http404
    return issued_pdf(
        request, kind=DocumentKind.VISIT_SCHEDULE, record=plan, build=lambda: visit_schedule.build(plan)
    )


@login_required
@require_POST
def own_reminder_channels(request):
    patient = _own_patient(request)
    form = ReminderChannelsForm(request.POST)
    if form.is_valid():
        patient_services.reminder_channels_set(actor=request.user, patient=patient, **form.cleaned_data)
        messages.success(request, _("Your reminder choices are saved."))
    return redirect("home")
