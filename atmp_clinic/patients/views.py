from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from atmp_clinic.accounts.models import Role
from atmp_clinic.accounts.selectors import get_visible_or_404, has_role_in
from atmp_clinic.accounts.views import organisation_for_roles_or_404

from . import services
from .forms import ConsentForm, ConsentWithdrawalForm, DeathForm, PatientForm, PatientIdentityForm
from .models import Patient
from .selectors import can_see_identity, patients_visible_to


@login_required
def patient_list(request):
    membership = request.membership
    can_add = bool(membership) and membership.role in services.HOSPITAL_STAFF
    return render(
        request,
        "patients/patient_list.html",
        {"patients": patients_visible_to(user=request.user), "can_add": can_add},
    )


@login_required
def patient_create(request):
    hospital = organisation_for_roles_or_404(request, services.HOSPITAL_STAFF)
    patient_form = PatientForm(request.POST or None)
    identity_form = PatientIdentityForm(
        request.POST or None, initial=PatientIdentityForm.initial_for(hospital.country)
    )
    if request.method == "POST" and patient_form.is_valid() and identity_form.is_valid():
        try:
            patient = services.patient_create(
                actor=request.user,
                hospital=hospital,
                **patient_form.cleaned_data,
                **identity_form.cleaned_data,
            )
        except ValidationError as error:
            patient_form.add_error(None, error)
        else:
            return redirect("patient-detail", pk=patient.pk)
    return render(
        request, "patients/patient_form.html", {"patient_form": patient_form, "identity_form": identity_form}
    )


def _visible_patient(request, pk: int, perm: str = "view") -> Patient:
    return get_visible_or_404(
        user=request.user, queryset=Patient.objects.select_related("hospital", "identity"), perm=perm, pk=pk
    )


@login_required
def patient_detail(request, pk: int):
    return _render_detail(request, _visible_patient(request, pk))


def _render_detail(request, patient: Patient, status: int = 200, **forms):
    can_change = request.user.has_perm("patients.change_patient", patient)
    context = {
        "patient": patient,
        "identity": patient.identity if can_see_identity(user=request.user, patient=patient) else None,
        "consents": patient.consents.select_related("recorded_by", "withdrawal_recorded_by"),
        "plans": patient.follow_up_plans.all(),
        "can_change": can_change,
        "can_record_death": can_change
        and request.membership.role == "clinician"
        and not patient.date_of_death,
        "consent_form": forms.get("consent_form") or ConsentForm(),
        "withdrawal_form": forms.get("withdrawal_form") or ConsentWithdrawalForm(),
        "death_form": forms.get("death_form") or DeathForm(),
    }
    return render(request, "patients/patient_detail.html", context, status=status)


@login_required
@require_POST
def consent_create(request, pk: int):
    patient = _visible_patient(request, pk, perm="change")
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            services.consent_give(actor=request.user, patient=patient, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("patient-detail", pk=patient.pk)
    return _render_detail(request, patient, status=400, consent_form=form)


@login_required
@require_POST
def consent_withdraw(request, pk: int, consent_pk: int):
    patient = _visible_patient(request, pk, perm="change")
    consent = get_object_or_404(patient.consents, pk=consent_pk)
    form = ConsentWithdrawalForm(request.POST)
    if form.is_valid():
        try:
            services.consent_withdraw(actor=request.user, consent=consent, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("patient-detail", pk=patient.pk)
    return _render_detail(request, patient, status=400, withdrawal_form=form)


@login_required
@require_POST
def patient_death(request, pk: int):
    patient = _visible_patient(request, pk, perm="change")
    # Whoever may not record a death learns nothing from the form's errors (SPEC §7: 404).
    if not has_role_in(user=request.user, organisation=patient.hospital, roles={Role.CLINICIAN}):
        raise Http404
    form = DeathForm(request.POST)
    if form.is_valid():
        try:
            services.patient_record_death(actor=request.user, patient=patient, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        except PermissionDenied:
            raise Http404 from None
        else:
            return redirect("patient-detail", pk=patient.pk)
    return _render_detail(request, patient, status=400, death_form=form)
