from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from atmp_clinic.accounts.models import Role
from atmp_clinic.accounts.selectors import get_visible_or_404, has_role_in
from atmp_clinic.audit.forms import SignatureForm, for_signer
from atmp_clinic.audit.selectors import checked_signatures, events_for
from atmp_clinic.documents import batch_certificate
from atmp_clinic.documents.models import DocumentKind
from atmp_clinic.documents.views import issued_pdf
from atmp_clinic.exemptions.models import ExemptionRequest
from atmp_clinic.exemptions.views import add_errors
from atmp_clinic.patients.models import Patient

from . import services
from .forms import (
    AdministrationCorrectionForm,
    AdministrationForm,
    BatchForm,
    CollectionCorrectionForm,
    CollectionForm,
    CorrectionForm,
    JustificationForm,
    ResultForm,
)
from .models import Batch, Collection
from .selectors import batch_steps, batches_visible_to, may_take_step, traceability

STEP_FORMS = {
    "record_result": ResultForm,
    "correct_result": CorrectionForm,
    "justify_exceptional_release": JustificationForm,
    "release": SignatureForm,
    "administer": AdministrationForm,
    "correct_collection": CollectionCorrectionForm,
    "correct_administration": AdministrationCorrectionForm,
}
STEP_LABELS = {
    "record_result": _("Record a result"),
    "correct_result": _("Correct a result"),
    "justify_exceptional_release": _("Justify an exceptional release"),
    "release": _("Release the batch"),
    "administer": _("Record the administration"),
    "correct_collection": _("Correct the collection record"),
    "correct_administration": _("Correct the administration record"),
}
NEEDS_BATCH = {"record_result", "correct_result"}
EVENT_LABELS = {
    "created": _("Batch created"),
    "result_recorded": _("Result recorded"),
    "result_corrected": _("Result corrected"),
    "exceptional_release_justified": _("Exceptional release justified"),
    "released": _("Released"),
    "exceptionally_released": _("Released exceptionally"),
    "administered": _("Administered"),
    "administration_corrected": _("Administration record corrected"),
}


def _event_line(event) -> tuple:
    """How the audit trail words an event: what happened, and to which result."""
    detail = ""
    if "test" in event.after:
        passed = "" if event.after.get("passed", True) else " (out of specification)"
        detail = f"{event.after['test']}: {event.after['result']}{passed}"
        if event.before.get("result"):
            detail += f", was {event.before['result']}"
    return event, EVENT_LABELS.get(event.action, event.action.replace("_", " ").capitalize()), detail


def _form(step: str, batch: Batch, user, data=None):
    form_class = STEP_FORMS[step]
    return for_signer(form_class(data, batch=batch) if step in NEEDS_BATCH else form_class(data), user)


def _take(step: str, *, actor, batch: Batch, data: dict):
    if step == "record_result":
        return services.result_record(actor=actor, batch=batch, **data)
    if step == "correct_result":
        return services.result_correct(actor=actor, **data)
    if step == "justify_exceptional_release":
        return services.exceptional_release_justify(actor=actor, batch=batch, **data)
    if step == "release":
        return services.batch_release(actor=actor, batch=batch, **data)
    if step == "correct_collection":
        return services.collection_correct(actor=actor, collection=batch.collection, **data)
    if step == "correct_administration":
        return services.administration_correct(actor=actor, administration=batch.administration, **data)
    return services.administration_record(actor=actor, batch=batch, **data)


def _guarded(form, call) -> bool:
    """Run a service for a form; put its refusal on the form. 404 for a person it is not for."""
    try:
        call()
    except PermissionDenied:
        raise Http404 from None
    except services.ChainRefused as refused:
        form.add_error(None, str(refused))
    except ValidationError as error:
        add_errors(form, error)
    else:
        return True
    return False


@login_required
def collection_create(request, request_pk: int):
    exemption = get_visible_or_404(user=request.user, queryset=ExemptionRequest.objects.all(), pk=request_pk)
    if not has_role_in(user=request.user, organisation=exemption.hospital, roles=services.HOSPITAL_STAFF):
        raise Http404
    form = CollectionForm(request.POST or None)

    def record():
        services.collection_record(actor=request.user, request=exemption, **form.cleaned_data)

    if request.method == "POST" and form.is_valid() and _guarded(form, record):
        messages.success(request, _("Collection recorded."))
        return redirect("request-detail", pk=exemption.pk)
    return render(request, "manufacturing/collection_form.html", {"form": form, "exemption": exemption})


@login_required
def batch_create(request, collection_pk: int):
    collection = Collection.objects.select_related("request").filter(pk=collection_pk).first()
    if collection is None:
        raise Http404
    exemption = get_visible_or_404(
        user=request.user, queryset=ExemptionRequest.objects.all(), pk=collection.request_id
    )
    if not has_role_in(user=request.user, organisation=exemption.hospital, roles={Role.PHARMACIST}):
        raise Http404
    form = BatchForm(request.POST or None)
    created = {}

    def create():
        created["batch"] = services.batch_create(
            actor=request.user, collection=collection, **form.cleaned_data
        )

    if request.method == "POST" and form.is_valid() and _guarded(form, create):
        messages.success(request, _("Batch %(number)s created.") % {"number": created["batch"].batch_number})
        return redirect("batch-detail", pk=created["batch"].pk)
    return render(request, "manufacturing/batch_form.html", {"form": form, "collection": collection})


def _visible_batch(request, pk: int) -> Batch:
    return get_visible_or_404(
        user=request.user,
        queryset=Batch.objects.select_related(
            "request__patient", "request__product", "request__hospital", "collection", "released_by"
        ),
        pk=pk,
    )


@login_required
def batch_detail(request, pk: int):
    return _render_batch(request, _visible_batch(request, pk))


def _render_batch(request, batch: Batch, *, failed_step: str = "", failed_form=None, status: int = 200):
    steps = batch_steps(user=request.user, batch=batch)
    if failed_step and failed_step not in steps:
        steps.insert(0, failed_step)
    context = {
        "batch": batch,
        "results": batch.results.select_related("test").order_by("test_id"),
        "missing": services.missing_results(batch=batch),
        "signatures": checked_signatures(obj=batch, content=services.release_content(batch)),
        "administration": getattr(batch, "administration", None),
        "has_certificate": batch_certificate.is_available(batch),
        "events": [_event_line(event) for event in events_for(obj=batch)],
        "step_forms": [
            (
                step,
                STEP_LABELS[step],
                failed_form if step == failed_step else _form(step, batch, request.user),
            )
            for step in steps
        ],
    }
    return render(request, "manufacturing/batch_detail.html", context, status=status)


@login_required
@require_GET
def batch_certificate_pdf(request, pk: int):
    """The release certificate, for those who see the batch, once it is released; 404 otherwise."""
    batch = get_object_or_404(
        batches_visible_to(user=request.user).select_related("request__hospital"), pk=pk
    )
    if not batch_certificate.is_available(batch):
        raise Http404
    return issued_pdf(
        request,
        kind=DocumentKind.BATCH_CERTIFICATE,
        record=batch,
        build=lambda: batch_certificate.build(batch),
    )


@login_required
@require_POST
def batch_step(request, pk: int, step: str):
    batch = _visible_batch(request, pk)
    if step not in STEP_FORMS or not may_take_step(user=request.user, batch=batch, step=step):
        raise Http404
    form = _form(step, batch, request.user, request.POST)
    if form.is_valid() and _guarded(
        form, lambda: _take(step, actor=request.user, batch=batch, data=form.cleaned_data)
    ):
        messages.success(request, _("%(step)s: done.") % {"step": STEP_LABELS[step]})
        return redirect("batch-detail", pk=batch.pk)
    return _render_batch(request, _visible_batch(request, pk), failed_step=step, failed_form=form, status=400)


@login_required
def patient_traceability(request, pk: int):
    patient = get_visible_or_404(
        user=request.user, queryset=Patient.objects.select_related("hospital"), pk=pk
    )
    return render(
        request,
        "manufacturing/traceability.html",
        {"patient": patient, "chain": traceability(patient=patient)},
    )
