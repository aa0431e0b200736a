from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection
from django.utils import timezone

from atmp_clinic.accounts.models import User
from atmp_clinic.patients import services
from atmp_clinic.patients.models import PSEUDONYM_PATTERN, Consent, ConsentKind, Patient
from atmp_clinic.patients.selectors import can_see_identity, patients_visible_to

pytestmark = pytest.mark.django_db


def enrol(username="clinician", **overrides) -> Patient:
    actor = User.objects.get(username=username)
    fields = {
        "year_of_birth": 1980,
        "sex": "female",
        "given_name": "Marloes",
        "family_name": "Verhoeven",
        "email": "marloes@example.org",
        "phone": "+31612345678",
    } | overrides
    return services.patient_create(actor=actor, hospital=actor.memberships.get().organisation, **fields)


def test_patient_gets_a_pseudonymous_code(demo):
    import re

    assert re.fullmatch(PSEUDONYM_PATTERN, enrol().pseudonym)


def test_identity_is_encrypted_at_rest(demo):
    patient = enrol()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT given_name, family_name, email, phone FROM patients_patientidentity WHERE patient_id = %s",
            [patient.pk],
        )
        stored = " ".join(cursor.fetchone())
    assert not any(plain in stored for plain in ("Marloes", "Verhoeven", "marloes@", "612345678"))


def test_identity_reads_back_decrypted(demo):
    patient = Patient.objects.select_related("identity").get(pk=enrol().pk)
    assert (patient.identity.full_name, patient.identity.phone) == ("Marloes Verhoeven", "+31612345678")


def test_pseudonyms_are_unique_within_a_hospital(demo):
    patient = enrol()
    with pytest.raises(IntegrityError):
        Patient.objects.create(
            hospital=patient.hospital, pseudonym=patient.pseudonym, year_of_birth=1990, sex="male",
            created_by=patient.created_by,
        )  # fmt: skip


def test_year_of_birth_in_the_future_is_refused(demo):
    with pytest.raises(ValidationError, match="cannot be in the future"):
        enrol(year_of_birth=timezone.localdate().year + 1)


def test_phone_must_be_international(demo):
    with pytest.raises(ValidationError, match="international form"):
        enrol(phone="0612345678")


def test_unknown_time_zone_is_refused(demo):
    with pytest.raises(ValidationError, match="time zone"):
        enrol(time_zone="Mars/Olympus_Mons")


def test_only_staff_of_the_hospital_enrol(demo):
    with pytest.raises(PermissionDenied):
        services.patient_create(
            actor=User.objects.get(username="clinician_b"),
            hospital=User.objects.get(username="clinician").memberships.get().organisation,
            year_of_birth=1980, sex="male", given_name="A", family_name="B",
        )  # fmt: skip


def test_consent_given_then_withdrawn_stays_in_history(demo):
    patient = enrol()
    clinician = User.objects.get(username="clinician")
    consent = services.consent_give(
        actor=clinician, patient=patient, kind="registry", given_on=date(2026, 1, 5)
    )
    services.consent_withdraw(actor=clinician, consent=consent, withdrawn_on=date(2026, 2, 1))
    services.consent_give(actor=clinician, patient=patient, kind="registry", given_on=date(2026, 3, 1))
    assert [(c.given_on, c.withdrawn_on) for c in patient.consents.filter(kind="registry")] == [
        (date(2026, 3, 1), None),
        (date(2026, 1, 5), date(2026, 2, 1)),
    ]


def test_a_consent_in_force_cannot_be_given_twice(demo):
    patient = enrol()
    clinician = User.objects.get(username="clinician")
    services.consent_give(actor=clinician, patient=patient, kind="treatment", given_on=date(2026, 1, 5))
    with pytest.raises(ValidationError, match="already given on 05 January 2026"):
        services.consent_give(actor=clinician, patient=patient, kind="treatment", given_on=date(2026, 1, 6))


def test_database_refuses_two_consents_in_force_of_one_kind(demo):
    patient = enrol()
    clinician = User.objects.get(username="clinician")
    Consent.objects.create(patient=patient, kind="sms", given_on=date(2026, 1, 1), recorded_by=clinician)
    with pytest.raises(IntegrityError):
        Consent.objects.create(patient=patient, kind="sms", given_on=date(2026, 1, 2), recorded_by=clinician)


def test_consent_cannot_be_withdrawn_before_it_was_given(demo):
    patient = enrol()
    clinician = User.objects.get(username="clinician")
    consent = services.consent_give(
        actor=clinician, patient=patient, kind="registry", given_on=date(2026, 1, 5)
    )
    with pytest.raises(ValidationError, match="before it was given"):
        services.consent_withdraw(actor=clinician, consent=consent, withdrawn_on=date(2026, 1, 4))


def test_consent_dated_in_the_future_is_refused(demo):
    patient = enrol()
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ValidationError, match="cannot be in the future"):
        services.consent_give(
            actor=User.objects.get(username="clinician"), patient=patient, kind="treatment", given_on=tomorrow
        )


def test_death_before_the_year_of_birth_is_refused(demo):
    patient = enrol(year_of_birth=1980)
    with pytest.raises(ValidationError, match="before the patient's year of birth"):
        services.patient_record_death(
            actor=User.objects.get(username="clinician"), patient=patient, date_of_death=date(1979, 12, 31)
        )


def test_only_a_clinician_records_a_death(demo):
    with pytest.raises(PermissionDenied, match="Only a clinician"):
        services.patient_record_death(
            actor=User.objects.get(username="pharmacist"), patient=enrol(), date_of_death=date(2026, 1, 1)
        )


def test_death_is_recorded_once(demo):
    patient = enrol()
    clinician = User.objects.get(username="clinician")
    services.patient_record_death(actor=clinician, patient=patient, date_of_death=date(2026, 1, 1))
    with pytest.raises(ValidationError, match="already recorded"):
        services.patient_record_death(actor=clinician, patient=patient, date_of_death=date(2026, 1, 2))


@pytest.mark.parametrize("username", ["pharmacist", "clinician", "clinician_2", "clinician_b"])
def test_hospital_staff_see_exactly_their_hospitals_patients(demo, username):
    user = User.objects.get(username=username)
    hospital = user.memberships.get().organisation
    assert set(patients_visible_to(user=user)) == set(Patient.objects.filter(hospital=hospital))


@pytest.mark.parametrize("username", ["reviewer", "decider_b", "analyst", "patient", "admin"])
def test_nobody_else_sees_patients(demo, username):
    assert not patients_visible_to(user=User.objects.get(username=username)).exists()


def test_staff_of_the_hospital_see_identity(demo):
    patient = Patient.objects.get(user__username="patient")
    assert can_see_identity(user=User.objects.get(username="pharmacist"), patient=patient)


@pytest.mark.parametrize("username", ["reviewer", "analyst", "pharmacist_2", "patient", "admin"])
def test_others_never_see_identity(demo, username):
    patient = Patient.objects.get(user__username="patient")
    assert not can_see_identity(user=User.objects.get(username=username), patient=patient)


def test_demo_patient_users_are_linked_to_their_records(demo):
    assert Patient.objects.get(user__username="patient_b").consents.filter(kind=ConsentKind.REGISTRY).exists()
