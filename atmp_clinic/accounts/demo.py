"""The demo of SPEC §7: two countries with one authority each, two hospitals per country, and
the demo users, all with the password DEMO_PASSWORD; those whose role needs a second factor share
the authenticator key DEMO_AUTHENTICATOR_KEY. Idempotent: what exists is left as it is."""

from base64 import b32encode
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import services
from .models import Organisation, Role, User
from .selectors import second_factor_required

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - published in the README for the demo only  # nosec B105
DEMO_EMAIL_DOMAIN = "demo.atmp-clinic.test"
# Published like the password: add DEMO_AUTHENTICATOR_SECRET to an authenticator app, or run
# `manage.py demo_code`, to log in as a demo pharmacist, reviewer or administrator.
DEMO_AUTHENTICATOR_KEY = b"atmp-clinic-demo-otp".hex()  # 20 bytes, as authenticator apps expect
DEMO_AUTHENTICATOR_SECRET = b32encode(bytes.fromhex(DEMO_AUTHENTICATOR_KEY)).decode()

AUTHORITIES = {
    "NL": dict(
        name="Nationale Autoriteit Geavanceerde Therapieën (demo)",
        address="Postbus 2001\n3500 GA Utrecht\nNederland",
        # Six weeks in all from submission to decision; serious reactions within 48 hours.
        validation_days=14,
        assessment_days=28,
        information_response_days=30,
        permit_validity_days=365,
        notify_each_administration=False,
        expedited_report_deadline=timedelta(hours=48),
        expedited_report_deadline_fatal=timedelta(hours=48),
    ),
    "DE": dict(
        name="Bundesamt für Arzneimittel neuartiger Therapien (Demo)",
        address="Paul-Ehrlich-Straße 1\n63225 Langen\nDeutschland",
        # Every administration is notified (the German rule since 2020); EU report deadlines.
        validation_days=10,
        assessment_days=80,
        information_response_days=12,
        permit_validity_days=365,
        notify_each_administration=True,
        expedited_report_deadline=timedelta(days=15),
        expedited_report_deadline_fatal=timedelta(days=7),
    ),
}

HOSPITALS = {
    "NL": [
        (
            "Amstel Universitair Medisch Centrum",
            "NL-MIA-104 231",
            "Meibergdreef 9\n1105 AZ Amsterdam",
            "+31 20 555 0100",
        ),
        ("Waddenzee Ziekenhuis", "NL-MIA-108 877", "Havenweg 12\n8861 LD Harlingen", "+31 517 555 200"),
    ],
    "DE": [
        (
            "Universitätsklinikum Rheinau",
            "DE-HE-2019-0412",
            "Rheinuferstraße 4\n68199 Mannheim",
            "+49 621 555 300",
        ),
        ("Klinikum Elbtal", "DE-SN-2021-0733", "Elbtalweg 20\n01099 Dresden", "+49 351 555 400"),
    ],
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    country: str | None = None  # with hospital_index or authority: where they work
    hospital_index: int | None = None
    capability: str | None = None  # validator / assessor / decider for reviewers; qualified_person


DEMO_USERS = [
    DemoUser("pharmacist", "Sanne", "de Vries", Role.PHARMACIST, "NL", 0, capability="qualified_person"),
    DemoUser("clinician", "Pieter", "Jansen", Role.CLINICIAN, "NL", 0),
    DemoUser("patient", "Emma", "Bakker", Role.PATIENT, "NL", 0),
    DemoUser("reviewer", "Lotte", "Visser", Role.REVIEWER, "NL", capability="validator"),
    DemoUser("assessor", "Daan", "Smit", Role.REVIEWER, "NL", capability="assessor"),
    DemoUser("assessor2", "Fleur", "Mulder", Role.REVIEWER, "NL", capability="assessor"),
    DemoUser("decider", "Joost", "van den Berg", Role.REVIEWER, "NL", capability="decider"),
    DemoUser("pharmacist_2", "Noor", "Hendriks", Role.PHARMACIST, "NL", 1, capability="qualified_person"),
    DemoUser("clinician_2", "Bram", "Dekker", Role.CLINICIAN, "NL", 1),
    DemoUser("pharmacist_b", "Jürgen", "Müller", Role.PHARMACIST, "DE", 0, capability="qualified_person"),
    DemoUser("clinician_b", "Anna", "Schröder", Role.CLINICIAN, "DE", 0),
    DemoUser("patient_b", "Zoë", "Weiß", Role.PATIENT, "DE", 0),
    # Beyond SPEC §7's list: staff for the second German hospital, so every hospital has requests.
    DemoUser("pharmacist_2_b", "Henrik", "Jäger", Role.PHARMACIST, "DE", 1, capability="qualified_person"),
    DemoUser("clinician_2_b", "Mirela", "Popescu", Role.CLINICIAN, "DE", 1),
    DemoUser("reviewer_b", "Katrin", "Becker", Role.REVIEWER, "DE", capability="validator"),
    DemoUser("assessor_b", "Matthias", "Groß", Role.REVIEWER, "DE", capability="assessor"),
    DemoUser("assessor2_b", "Şebnem", "Yılmaz", Role.REVIEWER, "DE", capability="assessor"),
    DemoUser("decider_b", "Friederike", "Löwe", Role.REVIEWER, "DE", capability="decider"),
    DemoUser("analyst", "Camille", "Laurent", Role.ANALYST),
    DemoUser("admin", "Morgan", "Reyes", Role.ADMINISTRATOR),
]


def _organisation(*, country: str, name: str, **fields) -> tuple[Organisation, bool]:
    existing = Organisation.objects.filter(country=country, name=name).first()
    if existing:
        return existing, False
    return services.organisation_save(organisation=Organisation(country=country, name=name, **fields)), True


def _workplace(demo_user: DemoUser, organisations: dict) -> Organisation | None:
    if demo_user.country is None:
        return None
    if demo_user.role == Role.REVIEWER:
        return organisations[(demo_user.country, "authority")]
    return organisations[(demo_user.country, demo_user.hospital_index)]


@transaction.atomic
def seed_organisations_and_users() -> dict[str, int]:
    """Returns how many organisations and users it created (0 and 0 on a second run)."""
    created = {"organisations": 0, "users": 0}
    organisations = {}
    for country, fields in AUTHORITIES.items():
        organisations[(country, "authority")], new = _organisation(
            country=country, kind=Organisation.Kind.AUTHORITY, **fields
        )
        created["organisations"] += new
        for index, (name, authorisation, address, phone) in enumerate(HOSPITALS[country]):
            organisations[(country, index)], new = _organisation(
                country=country,
                name=name,
                kind=Organisation.Kind.HOSPITAL,
                manufacturing_authorisation_number=authorisation,
                address=address,
                phone=phone,
            )
            created["organisations"] += new

    for demo_user in DEMO_USERS:
        if User.objects.filter(username=demo_user.username).exists():
            continue
        is_admin = demo_user.role == Role.ADMINISTRATOR
        user = User.objects.create_user(
            username=demo_user.username,
            password=DEMO_PASSWORD,
            email=f"{demo_user.username}@{DEMO_EMAIL_DOMAIN}",
            first_name=demo_user.first_name,
            last_name=demo_user.last_name,
            is_staff=is_admin,
            is_superuser=is_admin,
        )
        capability = demo_user.capability
        services.membership_create(
            user=user,
            role=demo_user.role,
            organisation=_workplace(demo_user, organisations),
            is_validator=capability == "validator",
            is_assessor=capability == "assessor",
            is_decider=capability == "decider",
            is_qualified_person=capability == "qualified_person",
        )
        created["users"] += 1
    return created


@transaction.atomic
def seed_second_factors() -> None:
    """Last of the demo: the demo's requests and batches are signed while it is seeded, by people who
    would otherwise need a fresh authenticator code at each signature."""
    for user in User.objects.filter(username__in=[demo_user.username for demo_user in DEMO_USERS]):
        if second_factor_required(user=user) and not TOTPDevice.objects.filter(user=user).exists():
            TOTPDevice.objects.create(
                user=user, name=services.AUTHENTICATOR_NAME, key=DEMO_AUTHENTICATOR_KEY, confirmed=True
            )
