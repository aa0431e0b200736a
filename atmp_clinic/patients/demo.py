"""Demo patients for the hospitals that have staff, with their consents; the demo users `patient`
and `patient_b` are linked to their own records. Seeds a hospital only while it has no patients."""

from datetime import date

from django.db import transaction

from atmp_clinic.accounts.models import User

from . import services
from .models import ConsentKind, Patient

# by the clinician who enrols them: (given name, family name, year, sex, language, login, consents)
DEMO_PATIENTS = {
    "clinician": [
        ("Emma", "Bakker", 1987, "female", "en", "patient", ["treatment", "registry", "reminder_email"]),
        ("Sem", "de Jong", 1962, "male", "en", None, ["treatment", "registry"]),
        ("Julia", "Meijer", 2009, "female", "en", None, ["treatment"]),
    ],
    "clinician_2": [("Lieke", "Boer", 1975, "female", "en", None, ["treatment", "reminder_sms"])],
    "clinician_b": [
        ("Zoë", "Weiß", 1991, "female", "de", "patient_b", ["treatment", "registry", "reminder_email"]),
        ("Lukas", "Schäfer", 1958, "male", "de", None, ["treatment", "registry"]),
        ("Émilie", "Dubois", 1979, "female", "fr", None, ["treatment", "reminder_email"]),
    ],
}


@transaction.atomic
def seed_patients() -> int:
    created = 0
    for username, patients in DEMO_PATIENTS.items():
        clinician = User.objects.get(username=username)
        hospital = clinician.memberships.get(ended_at__isnull=True).organisation
        if Patient.objects.filter(hospital=hospital).exists():
            continue
        for given, family, year, sex, language, login, consents in patients:
            login_user = User.objects.get(username=login) if login else None
            patient = services.patient_create(
                actor=clinician,
                hospital=hospital,
                year_of_birth=year,
                sex=sex,
                given_name=given,
                family_name=family,
                email=login_user.email if login_user else None,
                preferred_language=language,
                time_zone="Europe/Berlin" if hospital.country == "DE" else "Europe/Amsterdam",
            )
            if login_user:
                patient.user = login_user
                patient.save(update_fields=["user"])
            for kind in consents:
                services.consent_give(
                    actor=clinician, patient=patient, kind=ConsentKind(kind), given_on=date(2026, 3, 2)
                )
            created += 1
    return created
