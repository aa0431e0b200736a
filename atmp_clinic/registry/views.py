from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from atmp_clinic.accounts.models import Role
from atmp_clinic.accounts.selectors import has_role_in
from atmp_clinic.audit.selectors import trail
from atmp_clinic.exemptions.views import add_errors
from atmp_clinic.followup import services as followup_services
from atmp_clinic.followup.forms import drafting
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit, VisitDraft
from atmp_clinic.followup.selectors import (
    may_change_visit,
    plans_visible_to,
    visit_draft_for,
    visits_visible_to,
)

from . import grading, services
from .forms import AdverseEventForm, OutcomeForm, ReportSubmitForm
from .models import AdverseEvent, ExpeditedReport, ExportJob, OutcomeRecord, Seriousness, SpecialInterest
from .selectors import (
    adverse_events_visible_to,
    expedited_reports_visible_to,
    export_jobs_of,
    grading_reasons_shown,
    minutes_waiting_for_a_worker,
    outcome_progress,
    outcomes_visible_to,
)

# How each ASTCT criterion reads on the event's page: its label and, for a choice, the choice's labels.
CRITERIA_LABELS = {
    AdverseEvent.Kind.CRS: [
        ("fever", _("Fever ≥ 38.0 °C"), None),
        ("fever_masked_by_treatment", _("Fever masked by antipyretic or anti-cytokine treatment"), None),
        ("hypotension", _("Hypotension"), None),
        ("vasopressors", _("Vasopressors"), grading.VASOPRESSORS),
        ("oxygen", _("Oxygen for hypoxia"), grading.OXYGEN_SUPPORT),
    ],
    AdverseEvent.Kind.ICANS: [
        ("ice_score", _("ICE score"), None),
        ("consciousness", _("Level of consciousness"), grading.CONSCIOUSNESS),
        ("seizure", _("Seizures"), grading.SEIZURES),
        ("motor", _("Motor findings"), grading.MOTOR_FINDINGS),
        ("raised_icp", _("Raised intracranial pressure or cerebral oedema"), grading.RAISED_ICP),
    ],
}


def _guarded(call, on_error) -> bool:
    """Run a service; its refusal goes on the form, and a person it is not for gets 404."""
    try:
        call()
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as error:
        on_error(error)
        return False
    return True


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- Outcome of a visit ----------------------------------------------------------------------------


def _may_record_outcome(request, visit: FollowUpVisit, outcome: OutcomeRecord | None) -> bool:
    return (
        outcome is None
        and visit.status == FollowUpVisit.Status.COMPLETED
        and bool(services.visit_sections(visit))
        and may_change_visit(user=request.user, visit=visit)
    )


def visit_outcome_context(request, visit: FollowUpVisit) -> dict:
    """What templates/registry/_visit_outcome.html needs on the visit page: the recorded outcome, and
    the form to record it for the hospital's clinicians while there is none."""
    outcome = outcomes_visible_to(user=request.user).filter(visit=visit).first()
    if not _may_record_outcome(request, visit, outcome):
        return {"outcome": outcome, "outcome_form": None}
    # The clinician's own draft comes back as they left it, with how far it is.
    draft = visit_draft_for(user=request.user, visit=visit, form=VisitDraft.Form.OUTCOME)
    values = draft.data if draft else {}
    return {
        "outcome": outcome,
        "outcome_form": OutcomeForm(visit=visit, initial=values),
        "outcome_draft": draft,
        "outcome_progress": outcome_progress(visit=visit, values=values),
    }


def _outcome_visit_or_redirect(request, pk: int) -> tuple[FollowUpVisit, HttpResponse | None]:
    """The visit whose outcome is being written, or where to send someone whose outcome is recorded."""
    visits = visits_visible_to(user=request.user).select_related("plan__patient__hospital")
    visit = get_object_or_404(visits, pk=pk)
    if not may_change_visit(user=request.user, visit=visit):
        raise Http404
    if OutcomeRecord.objects.filter(visit=visit).exists():
        messages.error(request, _("This visit's outcome is already recorded."))
        return visit, redirect("visit-detail", pk=visit.pk)
    return visit, None


def _refused_outcome(request, visit: FollowUpVisit, form: OutcomeForm) -> HttpResponse:
    # The visit page belongs to follow-up; the refused form comes back on a page of its own, as typed.
    context = {
        "visit": visit,
        "plan": visit.plan,
        "outcome": None,
        "outcome_form": form,
        "outcome_progress": outcome_progress(visit=visit, values=getattr(form, "cleaned_data", {})),
    }
    return render(request, "registry/outcome_form.html", context, status=400)


@login_required
@require_POST
def visit_outcome(request, pk: int):
    visit, recorded = _outcome_visit_or_redirect(request, pk)
    if recorded:
        return recorded
    form = OutcomeForm(request.POST, visit=visit)
    if form.is_valid() and _guarded(
        lambda: services.outcome_record(actor=request.user, visit=visit, **form.outcome()),
        lambda error: add_errors(form, error),
    ):
        messages.success(request, _("The visit's outcome is recorded."))
        return redirect("visit-detail", pk=visit.pk)
    return _refused_outcome(request, visit, form)


@login_required
@require_POST
def visit_outcome_draft(request, pk: int):
    """Keep the outcome form as typed, incomplete if need be: it is not recorded, so the registry and
    its exports do not see it, until the clinician records it."""
    visit, recorded = _outcome_visit_or_redirect(request, pk)
    if recorded:
        return recorded
    form = drafting(OutcomeForm(request.POST, visit=visit))
    if form.is_valid() and _guarded(
        lambda: followup_services.visit_draft_save(
            actor=request.user, visit=visit, form=VisitDraft.Form.OUTCOME, data=form.cleaned_data
        ),
        lambda error: add_errors(form, error),
    ):
        messages.success(request, _("Draft saved. The outcome is not recorded until you record it."))
        return redirect("visit-detail", pk=visit.pk)
    return _refused_outcome(request, visit, form)


# --- Adverse events --------------------------------------------------------------------------------


def may_record_adverse_event(request, plan: FollowUpPlan) -> bool:
    return has_role_in(user=request.user, organisation=plan.patient.hospital, roles={Role.CLINICIAN})


def plan_adverse_events_context(request, plan: FollowUpPlan) -> dict:
    """What templates/registry/_plan_adverse_events.html needs on the plan page."""
    events = (
        adverse_events_visible_to(user=request.user)
        .filter(plan=plan)
        .select_related("expedited_report")
        .order_by("-onset_on", "-pk")
    )
    return {
        "adverse_events": [_event_row(event) for event in events],
        "may_record_adverse_event": may_record_adverse_event(request, plan),
    }


def _event_row(event: AdverseEvent) -> dict:
    return {
        "event": event,
        "seriousness": [Seriousness(value).label for value in event.seriousness],
        "special_interest": [SpecialInterest(value).label for value in event.special_interest],
    }


@login_required
def adverse_event_new(request, pk: int):
    plans = plans_visible_to(user=request.user).select_related("patient__hospital", "administration")
    plan = get_object_or_404(plans, pk=pk)
    if not may_record_adverse_event(request, plan):
        raise Http404
    if request.method != "POST":
        form = AdverseEventForm(plan=plan, initial={"visit": request.GET.get("visit")})
        return render(request, "registry/adverse_event_form.html", {"plan": plan, "form": form})
    form = AdverseEventForm(request.POST, plan=plan)
    recorded = []
    if form.is_valid() and _guarded(
        lambda: recorded.append(
            services.adverse_event_record(actor=request.user, plan=plan, **form.adverse_event())
        ),
        form.add_service_error,
    ):
        event = recorded[0]
        message = _("The adverse event is recorded.")
        if hasattr(event, "expedited_report"):
            due = date_format(event.expedited_report.due_on, "d F Y")  # as strftime's %d %B %Y
            message = _(
                "The adverse event is recorded. It is a serious adverse reaction: "
                "report it to the authority by %(due)s."
            ) % {"due": due}
        messages.success(request, message)
        return redirect("adverse-event-detail", pk=event.pk)
    return render(request, "registry/adverse_event_form.html", {"plan": plan, "form": form}, status=400)


def _criteria_rows(event: AdverseEvent) -> list[tuple[str, str]]:
    rows = []
    for key, label, choices in CRITERIA_LABELS.get(event.kind, []):
        value = event.grading_criteria.get(key)
        if choices is not None:
            shown = _capitalised(choices.get(value, str(value)))
        elif isinstance(value, bool):
            shown = _("Yes") if value else _("No")
        else:
            shown = _("Not performed (unarousable)") if value is None else f"{value}/{grading.ICE_SCORE_MAX}"
        rows.append((label, shown))
    return rows


@login_required
def adverse_event_detail(request, pk: int):
    events = adverse_events_visible_to(user=request.user).select_related(
        "plan__patient__hospital", "visit", "recorded_by"
    )
    event = get_object_or_404(events, pk=pk)
    # The authority sees a report only once the hospital has submitted it.
    report = expedited_reports_visible_to(user=request.user).filter(adverse_event=event).first()
    context = {
        "event": event,
        "plan": event.plan,
        "row": _event_row(event),
        "criteria": _criteria_rows(event),
        "reasons": grading_reasons_shown(event),
        "report": report,
        "events": trail(obj=event),
    }
    return render(request, "registry/adverse_event_detail.html", context)


# --- Expedited reports -----------------------------------------------------------------------------


def _visible_report(request, pk: int) -> ExpeditedReport:
    reports = expedited_reports_visible_to(user=request.user).select_related(
        "adverse_event__patient", "adverse_event__plan", "hospital", "authority", "submitted_by",
        "acknowledged_by",
    )  # fmt: skip
    return get_object_or_404(reports, pk=pk)


def _may_submit(request, report: ExpeditedReport) -> bool:
    return report.status == ExpeditedReport.Status.OPEN and has_role_in(
        user=request.user, organisation=report.hospital, roles={Role.CLINICIAN, Role.PHARMACIST}
    )


def _may_acknowledge(request, report: ExpeditedReport) -> bool:
    return report.status == ExpeditedReport.Status.SUBMITTED and has_role_in(
        user=request.user, organisation=report.authority, roles={Role.REVIEWER}
    )


@login_required
def expedited_report_detail(request, pk: int, *, submit_form=None, acknowledge_errors=(), status: int = 200):
    report = _visible_report(request, pk)
    context = {
        "report": report,
        "event": report.adverse_event,
        "submit_form": (submit_form or ReportSubmitForm()) if _may_submit(request, report) else None,
        "may_acknowledge": _may_acknowledge(request, report),
        "acknowledge_errors": acknowledge_errors,
        "events": trail(obj=report),
    }
    return render(request, "registry/expedited_report_detail.html", context, status=status)


@login_required
@require_POST
def expedited_report_submit(request, pk: int):
    report = _visible_report(request, pk)
    if not _may_submit(request, report):
        raise Http404
    form = ReportSubmitForm(request.POST)
    if form.is_valid() and _guarded(
        lambda: services.expedited_report_submit(
            actor=request.user, report=report, narrative=form.cleaned_data["narrative"]
        ),
        lambda error: add_errors(form, error),
    ):
        messages.success(request, _("The expedited report is submitted to the authority."))
        return redirect("expedited-report-detail", pk=report.pk)
    return expedited_report_detail(request, pk, submit_form=form, status=400)


@login_required
@require_POST
def expedited_report_acknowledge(request, pk: int):
    report = _visible_report(request, pk)
    if not _may_acknowledge(request, report):
        raise Http404
    refused = []
    if _guarded(
        lambda: services.expedited_report_acknowledge(actor=request.user, report=report),
        lambda error: refused.extend(error.messages),
    ):
        messages.success(request, _("The expedited report is acknowledged."))
        return redirect("expedited-report-detail", pk=report.pk)
    return expedited_report_detail(request, pk, acknowledge_errors=refused, status=400)


def _analyst_or_404(request) -> None:
    from . import exports

    if not exports.may_export(request.user):
        raise Http404


@login_required
def export_list(request):
    """The analyst's exports: ask for one (then follow it on its own page), and the ones asked for.
    This page never reloads itself: it holds a form the analyst may be filling."""
    _analyst_or_404(request)
    if request.method == "POST":
        fmt = request.POST.get("format", "")
        try:
            job = services.export_request(actor=request.user, format=fmt)
        except ValidationError:
            messages.error(request, _("Choose one of the exports offered."))
        else:
            messages.success(request, _("The export is on its way; this page shows its progress."))
            return redirect("export-job", pk=job.pk)
    context = {"jobs": list(export_jobs_of(user=request.user)[:20]), "formats": ExportJob.Format.choices}
    return render(request, "registry/exports.html", context)


@login_required
def export_job(request, pk: int):
    """One export asked for: its progress while a worker writes it (the page, which holds no form
    then, refreshes itself), then its download; after a failure, a way to ask again."""
    _analyst_or_404(request)
    job = get_object_or_404(export_jobs_of(user=request.user), pk=pk)
    return render(
        request,
        "registry/export_job.html",
        {"job": job, "waiting_minutes": minutes_waiting_for_a_worker(job)},
    )


@login_required
def export_download(request, pk: int):
    _analyst_or_404(request)
    job = get_object_or_404(export_jobs_of(user=request.user), pk=pk, status=ExportJob.Status.DONE)
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1])
