"""Writes about patients. Only the staff of the patient's hospital (pharmacists and clinicians)
enrol patients and record consents; only its clinicians record a death."""

import secrets
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_noop
from guardian.shortcuts import assign_perm

from atmp_clinic.accounts.models import Organisation, Role, User
from atmp_clinic.accounts.selectors import has_role_in
from atmp_clinic.accounts.services import organisation_group
from atmp_clinic.audit.services import record_event
from atmp_clinic.followup.models import FollowUpPlan
from atmp_clinic.followup.services import plans_end
from atmp_clinic.registry.dashboards import registry_figures_forget

from .models import PSEUDONYM_ALPHABET, Consent, ConsentKind, Patient, PatientIdentity

HOSPITAL_STAFF = {Role.PHARMACIST, Role.CLINICIAN}
NOT_STAFF_OF_THIS_HOSPITAL = "Only the pharmacists and clinicians of the patient's hospital can do this."
NOT_A_CLINICIAN_OF_THIS_HOSPITAL = "Only a clinician of the patient's hospital can record a death."


def _require(*, actor: User, hospital: Organisation, roles: set[str], message: str) -> None:
    if not has_role_in(user=actor, organisation=hospital, roles=roles):
        raise PermissionDenied(message)


def new_pseudonym() -> str:
    """ "P-" and two groups of four base-32 characters: 40 random bits, drawn anew on a clash."""
    chars = "".join(secrets.choice(PSEUDONYM_ALPHABET) for _ in range(8))
    return f"P-{chars[:4]}-{chars[4:]}"


@transaction.atomic
def patient_create(
    *,
    actor: User,
    hospital: Organisation,
    year_of_birth: int,
    sex: str,
    given_name: str,
    family_name: str,
    email: str | None = None,
    phone: str | None = None,
    preferred_language: str = "en",
    time_zone: str = "Europe/Amsterdam",
) -> Patient:
    _require(actor=actor, hospital=hospital, roles=HOSPITAL_STAFF, message=NOT_STAFF_OF_THIS_HOSPITAL)
    patient = Patient(hospital=hospital, year_of_birth=year_of_birth, sex=sex, created_by=actor)
    identity = PatientIdentity(
        patient=patient,
        given_name=given_name,
        family_name=family_name,
        email=email or None,
        phone=phone or None,
        preferred_language=preferred_language,
        time_zone=time_zone,
    )
    patient.pseudonym = new_pseudonym()
    patient.full_clean(validate_constraints=False)  # the database decides the code's uniqueness below
    identity.full_clean(exclude=["patient"])
    for _ in range(5):
        try:
            with transaction.atomic():
                patient.save()
            break
        except IntegrityError:  # the code was drawn twice in this hospital (about 1 in 10^8): draw again
            patient.pseudonym = new_pseudonym()
    else:
        raise RuntimeError("could not draw an unused pseudonymous code")
    identity.patient = patient
    identity.save()
    staff = organisation_group(organisation=hospital)
    for perm in ("patients.view_patient", "patients.change_patient", "patients.view_identity"):
        assign_perm(perm, staff, patient)
    return patient


# Each date's two refusals, as whole sentences so that each language can word them.
DATE_REFUSALS = {
    "consent": (
        gettext_noop("The date of consent cannot be in the future."),
        gettext_noop("The date of consent cannot be before the patient's year of birth."),
    ),
    "withdrawal": (
        gettext_noop("The date of withdrawal cannot be in the future."),
        gettext_noop("The date of withdrawal cannot be before the patient's year of birth."),
    ),
    "death": (
        gettext_noop("The date of death cannot be in the future."),
        gettext_noop("The date of death cannot be before the patient's year of birth."),
    ),
}


def _check_date(value: date, *, patient: Patient, field: str, what: str) -> None:
    in_future, before_birth = DATE_REFUSALS[what]
    if value > timezone.localdate():
        raise ValidationError({field: gettext(in_future)})
    if value.year < patient.year_of_birth:
        raise ValidationError({field: gettext(before_birth)})


@transaction.atomic
def consent_give(*, actor: User, patient: Patient, kind: str, given_on: date) -> Consent:
    _require(actor=actor, hospital=patient.hospital, roles=HOSPITAL_STAFF, message=NOT_STAFF_OF_THIS_HOSPITAL)
    _check_date(given_on, patient=patient, field="given_on", what="consent")
    active = (
        Consent.objects.select_for_update()
        .filter(patient=patient, kind=kind, withdrawn_on__isnull=True)
        .first()
    )
    if active:
        raise ValidationError(
            {
                "kind": gettext(
                    "This consent was already given on %(day)s; withdraw it before recording a new one."
                )
                % {"day": date_format(active.given_on, "d F Y")}
            }
        )
    consent = Consent(patient=patient, kind=kind, given_on=given_on, recorded_by=actor)
    consent.full_clean()
    consent.save()
    return consent


@transaction.atomic
def consent_withdraw(*, actor: User, consent: Consent, withdrawn_on: date) -> Consent:
    consent = Consent.objects.select_for_update().select_related("patient__hospital").get(pk=consent.pk)
    patient = consent.patient
    _require(actor=actor, hospital=patient.hospital, roles=HOSPITAL_STAFF, message=NOT_STAFF_OF_THIS_HOSPITAL)
    if consent.withdrawn_on:
        raise ValidationError(
            gettext("This consent was already withdrawn on %(day)s.")
            % {"day": date_format(consent.withdrawn_on, "d F Y")}
        )
    _check_date(withdrawn_on, patient=patient, field="withdrawn_on", what="withdrawal")
    if withdrawn_on < consent.given_on:
        raise ValidationError({"withdrawn_on": gettext("A consent cannot be withdrawn before it was given.")})
    consent.withdrawn_on = withdrawn_on
    consent.withdrawal_recorded_by = actor
    consent.save(update_fields=["withdrawn_on", "withdrawal_recorded_by"])
    if consent.kind == ConsentKind.REGISTRY:  # the analyst's kept figures may no longer include them
        transaction.on_commit(registry_figures_forget, robust=True)
    if consent.kind == ConsentKind.TREATMENT:  # follow-up is part of the treatment consented to
        plans_end(
            actor=actor,
            patient=patient,
            reason=FollowUpPlan.EndReason.CONSENT_WITHDRAWN,
            ended_on=withdrawn_on,
        )
    return consent


@transaction.atomic
def patient_record_death(*, actor: User, patient: Patient, date_of_death: date) -> Patient:
    patient = Patient.objects.select_for_update().select_related("hospital").get(pk=patient.pk)
    _require(
        actor=actor,
        hospital=patient.hospital,
        roles={Role.CLINICIAN},
        message=NOT_A_CLINICIAN_OF_THIS_HOSPITAL,
    )
    if patient.date_of_death:
        raise ValidationError(
            gettext("A date of death (%(day)s) is already recorded.")
            % {"day": date_format(patient.date_of_death, "d F Y")}
        )
    _check_date(date_of_death, patient=patient, field="date_of_death", what="death")
    patient.date_of_death = date_of_death
    patient.save(update_fields=["date_of_death"])
    plans_end(actor=actor, patient=patient, reason=FollowUpPlan.EndReason.DEATH, ended_on=date_of_death)
    return patient


@transaction.atomic
def reminder_channels_set(*, actor: User, patient: Patient, email: bool, sms: bool) -> dict[str, bool]:
    """The patient (or their hospital's staff) chooses the reminder channels: each change is a
    consent given or withdrawn today, so the history of choices stays."""
    is_self = patient.user_id is not None and patient.user_id == actor.pk
    if not is_self:
        _require(
            actor=actor, hospital=patient.hospital, roles=HOSPITAL_STAFF, message=NOT_STAFF_OF_THIS_HOSPITAL
        )
    today = timezone.localdate()
    wanted = {ConsentKind.REMINDER_EMAIL: email, ConsentKind.REMINDER_SMS: sms}
    active = {
        consent.kind: consent
        for consent in Consent.objects.select_for_update().filter(
            patient=patient, kind__in=wanted, withdrawn_on__isnull=True
        )
    }
    for kind, want in wanted.items():
        if want and kind not in active:
            Consent.objects.create(patient=patient, kind=kind, given_on=today, recorded_by=actor)
        elif not want and kind in active:
            consent = active[kind]
            consent.withdrawn_on, consent.withdrawal_recorded_by = today, actor
            consent.save(update_fields=["withdrawn_on", "withdrawal_recorded_by"])
    before = {str(kind): kind in active for kind in wanted}
    after = {str(kind): want for kind, want in wanted.items()}
    if before != after:
        record_event(actor=actor, obj=patient, action="reminder_channels_changed", before=before, after=after)
    return after
