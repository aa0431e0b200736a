from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from atmp_clinic.accounts.models import Role
from atmp_clinic.accounts.selectors import get_visible_or_404, has_role_in
from atmp_clinic.accounts.views import organisation_for_roles_or_404
from atmp_clinic.audit.forms import for_signer
from atmp_clinic.audit.selectors import checked_signatures, events_for
from atmp_clinic.documents import decision_letter, dossier
from atmp_clinic.documents.models import DocumentKind
from atmp_clinic.documents.views import issued_pdf
from atmp_clinic.followup.models import FollowUpPlan
from atmp_clinic.manufacturing.selectors import chain_of

from . import services
from .forms import STEP_FORMS, AttachmentForm, RequestForm
from .models import APPROVED_STATES, Decision, ExemptionRequest, State
from .selectors import (
    PageRows,
    by_due_date,
    clocked,
    request_progress,
    requests_of_rows,
    requests_visible_to,
    return_notice,
    review_clock,
)

# Each step of the page, and the service that takes it.
STEPS = {
    "co_sign": services.request_co_sign,
    "submit": services.request_submit,
    "validate": services.request_validate,
    "return": services.request_return,
    "request_information": services.request_ask_information,
    "answer_information": services.request_answer_information,
    "record_assessment": services.assessment_record,
    "decide": services.request_decide,
    "withdraw": services.request_withdraw,
    "suspend": services.permit_suspend,
    "revoke": services.permit_revoke,
}
STEP_LABELS = {
    "co_sign": _("Sign as responsible physician"),
    "submit": _("Submit to the authority"),
    "validate": _("Validate"),
    "return": _("Return as incomplete"),
    "request_information": _("Ask the hospital for information"),
    "answer_information": _("Answer the authority"),
    "record_assessment": _("Record an assessment"),
    "decide": _("Decide"),
    "withdraw": _("Withdraw the request"),
    "suspend": _("Suspend the permit"),
    "revoke": _("Revoke the permit"),
}


# How the timeline words each audited action.
EVENT_LABELS = {
    "created": _("Draft created"),
    "edited": _("Draft edited"),
    "co_signed": _("Signed by the responsible physician"),
    "submitted": _("Submitted"),
    "resubmitted": _("Submitted again"),
    "validated": _("Validated"),
    "returned": _("Returned as incomplete"),
    "information_requested": _("Information requested (clock stopped)"),
    "information_answered": _("Information given (clock running)"),
    "quality_assessment_recorded": _("Quality assessment recorded"),
    "clinical_assessment_recorded": _("Clinical assessment recorded"),
    "ready_for_decision": _("Ready for decision"),
    "decided": _("Decided"),
    "withdrawn": _("Withdrawn"),
    "lapsed": _("Lapsed: no answer by the deadline"),
    "suspended": _("Permit suspended"),
    "revoked": _("Permit revoked"),
    "attachment_added": _("Document attached"),
    "collection_recorded": _("Starting material collected"),
    "exceptional_release": _("Batch released exceptionally, out of specification (authority told)"),
    "administered": _("Administered"),
    "collection_corrected": _("Collection record corrected"),
    "administration_corrected": _("Administration record corrected"),
}
# Steps that end or undo something: shown as secondary buttons, never as the obvious next step.
REQUESTS_PER_PAGE = 50

UNDOING_STEPS = {"return", "withdraw", "suspend", "revoke"}


def add_errors(form, error: Exception) -> None:
    """Put a service's refusal on the form: on the field it names when the form has it, else on top."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages if isinstance(error, ValidationError) else str(error))


@login_required
def request_list(request):
    visible = requests_visible_to(user=request.user)
    counts = dict(visible.order_by().values_list("state").annotate(n=Count("id")))
    state = request.GET.get("state", "")
    if state and state not in State.values:
        messages.error(request, _("There is no such state; showing every request."))
        state = ""
    shown = visible.filter(state=state) if state else visible
    rows = clocked(shown)
    if request.GET.get("overdue") == "1":
        rows = [row for row in rows if row[1] and row[1].is_overdue]
    is_authority = bool(request.membership) and request.membership.role == Role.REVIEWER
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "exemptions/request_list.html",
        {
            "page": Paginator(
                PageRows(by_due_date(rows) if is_authority else rows, requests_of_rows), REQUESTS_PER_PAGE
            ).get_page(request.GET.get("page")),
            "query": query.urlencode(),
            "states": [(value, label, counts.get(value, 0)) for value, label in State.choices],
            "state": state,
            "overdue": request.GET.get("overdue") == "1",
            "can_create": bool(request.membership) and request.membership.role == Role.PHARMACIST,
        },
    )


@login_required
def request_create(request):
    hospital = organisation_for_roles_or_404(request, {Role.PHARMACIST})
    form = RequestForm(request.POST or None, hospital=hospital)
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        try:
            created = services.request_create(
                actor=request.user, patient=fields.pop("patient"), product=fields.pop("product"), **fields
            )
        except (ValidationError, services.TransitionRefused) as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Draft %(reference)s saved.") % {"reference": created.reference})
            return redirect("request-detail", pk=created.pk)
    return render(request, "exemptions/request_form.html", {"form": form, "sections": form.sections()})


@login_required
def request_edit(request, pk: int):
    exemption = get_visible_or_404(
        user=request.user, queryset=ExemptionRequest.objects.all(), perm="change", pk=pk
    )
    if request.method == "GET" and exemption.state not in (State.DRAFT, State.RETURNED):
        messages.info(
            request,
            _("%(reference)s is %(state)s: it can no longer be edited.")
            % {"reference": exemption.reference, "state": exemption.get_state_display().lower()},
        )
        return redirect("request-detail", pk=exemption.pk)
    # As saved, before the form writes what was typed onto the instance.
    progress = request_progress(request=exemption)
    form = RequestForm(request.POST or None, instance=exemption, hospital=exemption.hospital)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_update(actor=request.user, request=exemption, **form.cleaned_data)
        except PermissionDenied:
            raise Http404 from None
        except (ValidationError, services.TransitionRefused) as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("request-detail", pk=exemption.pk)
    context = {
        "form": form,
        "exemption": exemption,
        "progress": progress,
        "sections": form.sections(progress),
        "returned": return_notice(request=exemption),
    }
    return render(request, "exemptions/request_form.html", context)


def _visible(request, pk: int) -> ExemptionRequest:
    return get_visible_or_404(
        user=request.user,
        queryset=ExemptionRequest.objects.select_related(
            "hospital", "authority", "patient", "product", "responsible_physician"
        ),
        pk=pk,
    )


def _steps_for(user, exemption: ExemptionRequest) -> list[str]:
    return [step for step in services.available_transitions(actor=user, request=exemption) if step in STEPS]


@login_required
def request_detail(request, pk: int):
    return _render_detail(request, _visible(request, pk))


def _render_detail(
    request,
    exemption: ExemptionRequest,
    *,
    failed_step: str = "",
    failed_form=None,
    attachment_form=None,
    status=200,
):
    steps = _steps_for(request.user, exemption)
    if failed_step and failed_step not in steps:
        steps.insert(0, failed_step)  # the refused form stays on screen with its reason
    forms = [
        (
            step,
            STEP_LABELS[step],
            failed_form if step == failed_step else for_signer(STEP_FORMS[step](), request.user),
            step in UNDOING_STEPS,
        )
        for step in steps
    ]
    decision = getattr(exemption, "decision", None)
    progress = (
        request_progress(request=exemption) if exemption.state in (State.DRAFT, State.RETURNED) else None
    )
    context = {
        "chain": chain_of(request=exemption) if decision else [],
        "follow_up_plan": FollowUpPlan.objects.filter(administration__request=exemption).first()
        if decision
        else None,
        "can_collect": exemption.state in APPROVED_STATES
        and has_role_in(user=request.user, organisation=exemption.hospital, roles={Role.PHARMACIST, Role.CLINICIAN}),
        "can_make_batch": exemption.state in APPROVED_STATES
        and has_role_in(user=request.user, organisation=exemption.hospital, roles={Role.PHARMACIST}),
        "exemption": exemption,
        "has_dossier": dossier.is_available(exemption),
        "clock": review_clock(request=exemption),
        "missing": progress.missing_reasons if progress else {},
        "progress": progress,
        "physician_signed": services.physician_signature_is_current(request=exemption),
        "returned": return_notice(request=exemption),
        "assessments": exemption.assessments.select_related("assessor"),
        "information_requests": exemption.information_requests.select_related("asked_by", "answered_by"),
        "decision": decision,
        "decision_signatures": checked_signatures(obj=decision, content=services.decision_content(decision))
        if decision
        else [],
        "signatures": checked_signatures(obj=exemption, content=services.request_content(exemption)),
        "attachments": exemption.attachments.select_related("uploaded_by"),
        "can_attach": exemption.state in services.ATTACHABLE_STATES
        and request.user.has_perm("exemptions.change_exemptionrequest", exemption),
        "attachment_form": attachment_form or AttachmentForm(),
        "timeline": [
            (event, EVENT_LABELS.get(event.action, event.action.replace("_", " ").capitalize()))
            for event in events_for(obj=exemption)
        ],
        "step_forms": forms,
        "can_edit": exemption.state in (State.DRAFT, State.RETURNED)
        and request.user.has_perm("exemptions.change_exemptionrequest", exemption),
        "criteria": [(field.verbose_name, getattr(exemption, field.name)) for field in exemption._meta.fields
                     if field.name.startswith("criterion_")],
    }  # fmt: skip
    return render(request, "exemptions/request_detail.html", context, status=status)


@login_required
@require_POST
def attachment_create(request, pk: int):
    exemption = get_visible_or_404(
        user=request.user, queryset=ExemptionRequest.objects.all(), perm="change", pk=pk
    )
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachment = services.attachment_add(actor=request.user, request=exemption, **form.cleaned_data)
        except PermissionDenied:
            raise Http404 from None
        except (ValidationError, services.TransitionRefused) as error:
            add_errors(form, error)
        else:
            messages.success(
                request,
                ngettext(
                    "%(name)s attached (%(pages)d page).",
                    "%(name)s attached (%(pages)d pages).",
                    attachment.pages,
                )
                % {"name": attachment.original_name, "pages": attachment.pages},
            )
            return redirect("request-detail", pk=exemption.pk)
    return _render_detail(request, _visible(request, pk), attachment_form=form, status=400)


@login_required
def attachment_download(request, pk: int, attachment_pk: int):
    exemption = _visible(request, pk)
    attachment = get_object_or_404(exemption.attachments, pk=attachment_pk)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def request_dossier(request, pk: int):
    exemption = get_object_or_404(requests_visible_to(user=request.user), pk=pk)
    if not dossier.is_available(exemption):
        raise Http404
    return issued_pdf(
        request, kind=DocumentKind.REQUEST_DOSSIER, record=exemption, build=lambda: dossier.build(exemption)
    )


@login_required
@require_GET
def request_decision_letter(request, pk: int):
    exemption = get_object_or_404(requests_visible_to(user=request.user), pk=pk)
    try:
        decision = exemption.decision  # the reverse accessor hands the decision its request, loaded above
    except Decision.DoesNotExist:
        raise Http404 from None
    return issued_pdf(
        request,
        kind=DocumentKind.DECISION_LETTER,
        record=decision,
        build=lambda: decision_letter.build(decision),
    )


@login_required
@require_POST
def request_step(request, pk: int, step: str):
    exemption = _visible(request, pk)
    if step not in STEPS or not services.TRANSITIONS[step].may(request.user, exemption):
        raise Http404
    # Whether the step fits the request's state now is the service's to say: a person who loaded
    # the page before someone else acted gets that person's conflict message, not a 404.
    form = for_signer(STEP_FORMS[step](request.POST), request.user)
    if form.is_valid():
        try:
            STEPS[step](actor=request.user, request=exemption, **form.cleaned_data)
        except PermissionDenied:
            raise Http404 from None
        except services.TransitionConflict as conflict:
            form.add_error(None, str(conflict))
            return _render_detail(
                request, _visible(request, pk), failed_step=step, failed_form=form, status=409
            )
        except services.IncompleteRequest as incomplete:
            for message in incomplete.missing.values():
                form.add_error(None, message)
        except services.TransitionRefused as refused:
            form.add_error(None, str(refused))
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("%(step)s: done.") % {"step": STEP_LABELS[step]})
            return redirect("request-detail", pk=exemption.pk)
    return _render_detail(request, _visible(request, pk), failed_step=step, failed_form=form, status=400)
