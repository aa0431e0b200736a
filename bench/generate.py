"""Fill the benchmark database with 15 years of follow-up: 50 hospitals in five countries, 20,000
patients on integrating-vector plans (≈ 500,000 template visits), the outbox the reminder dispatch
would have written over those years, 100,000 adverse events with their expedited reports, 400
requests in review, the object permissions the services grant, and (through bench.registry_export)
2,000,000 outcome records.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/atmp_clinic_bench .venv/bin/python -m bench.generate

The database (its name must end in _bench) is dropped, created and migrated from scratch. Going
through every service for 20,000 chains would take hours, so the volume is written with
bulk_create and COPY, but the rows are the ones the services would write: visits come from
`followup.services._visit` and `due_date` over the template seeded by migration followup/0002
(checked against `plan_create` itself at the end), identities go through the model so their
fields are encrypted, and outbox rows follow `reminders.reminder_windows` and `next_allowed`.
Not generated, because no benchmark reads them: audit events, assessments, release results,
digests."""

import argparse
import json
import math
import random
import tempfile
import time
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from bench.common import NOW, database_name, rss_mb, setup_django

TEMPLATE = "integrating_vector"
FOLLOW_UP_YEARS = 15
IN_REVIEW = 400  # requests with an authority now
FAILED_SHARE = 0.003  # reminders that gave up after eight attempts
RETRYING_SHARE = 0.01  # of yesterday's reminders: still waiting for a retry this morning

# country: authority, hospitals, the patients' languages (weights), home time zone (50 hospitals)
COUNTRIES = {
    "DE": ("Paul-Ehrlich-Institut", 14, {"de": 0.9, "en": 0.1}, "Europe/Berlin"),
    "FR": ("ANSM", 12, {"fr": 0.92, "en": 0.08}, "Europe/Paris"),
    "ES": ("AEMPS", 10, {"es": 0.9, "en": 0.1}, "Europe/Madrid"),
    "NL": ("CBG-MEB", 8, {"en": 0.75, "de": 0.15, "fr": 0.1}, "Europe/Amsterdam"),
    "BE": ("FAMHP", 6, {"fr": 0.5, "en": 0.35, "de": 0.15}, "Europe/Brussels"),
}
# Patients followed from abroad (about 6 %): their reminders respect their own clock.
ABROAD = [
    "Europe/London", "Europe/Lisbon", "Atlantic/Canary", "Europe/Istanbul", "America/New_York",
    "America/Sao_Paulo", "America/Los_Angeles", "Asia/Dubai", "Asia/Tokyo", "Australia/Sydney",
    "Africa/Casablanca",
]  # fmt: skip
GIVEN = {
    "de": ["Anna", "Lukas", "Mia", "Jonas", "Lea", "Felix", "Emma", "Paul", "Sophie", "Jürgen"],
    "fr": ["Camille", "Louis", "Léa", "Hugo", "Chloé", "Jules", "Manon", "Gabriel", "Inès", "Théo"],
    "es": ["Lucía", "Hugo", "Martina", "Mateo", "Sofía", "Pablo", "Julia", "Álvaro", "Carmen", "José"],
    "en": ["Emma", "Daan", "Saoirse", "Liam", "Noor", "Aino", "Sean", "Julia", "Sem", "Aoife"],
}
FAMILY = {
    "de": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"],
    "fr": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Lefèvre"],
    "es": ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez"],
    "en": ["de Jong", "Jansen", "Murphy", "Kelly", "Virtanen", "Korhonen", "Peeters", "Yılmaz"],
}
AE_TERMS = [
    "Neutropenia", "Thrombocytopenia", "Anaemia", "Pyrexia", "Hypogammaglobulinaemia", "Fatigue", "Nausea",
    "Headache", "Pneumonia", "Urinary tract infection", "Herpes zoster", "Diarrhoea", "Hypotension",
]  # fmt: skip
AE_SPECIAL = [
    ("T-cell lymphoma", ["new_malignancy", "t_cell_malignancy"]), ("Myelodysplastic syndrome", ["new_malignancy"]),
    ("Peripheral neuropathy", ["neurological"]), ("Autoimmune thyroiditis", ["autoimmune"]),
    ("Aplastic anaemia", ["haematological"]), ("Sepsis", ["serious_infection"]),
]  # fmt: skip
INDICATIONS = [
    ("C83.3", "Diffuse large B-cell lymphoma, relapsed after two lines of therapy"),
    ("C91.0", "B-cell acute lymphoblastic leukaemia, relapsed or refractory"),
    ("C90.0", "Multiple myeloma, triple-class exposed"),
    ("C82.9", "Follicular lymphoma, relapsed after two lines of therapy"),
    ("C83.1", "Mantle cell lymphoma after a BTK inhibitor"),
]


@dataclass
class PlanSeed:
    """One chain request → decision → collection → batch → administration → plan."""

    id: int
    patient: "PatientSeed"
    administered_at: datetime
    status: str = "active"
    ended_on: date | None = None
    end_reason: str = ""


@dataclass
class PatientSeed:
    id: int
    hospital: object
    language: str
    time_zone: str
    email: str | None
    phone: str | None
    # reminder consents: channel → (given_on, withdrawn_on)
    reminder_consents: dict = field(default_factory=dict)
    death: date | None = None
    treatment_withdrawn: date | None = None
    plans: list = field(default_factory=list)


def log(message: str, started: float) -> None:
    print(f"{time.perf_counter() - started:7.1f} s  {message}", flush=True)


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = database_name(url)
    parts = urlsplit(url)
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def administration_moment(rng: random.Random, earliest: datetime, latest: datetime) -> datetime:
    """Uniform over the span half the time, growing towards today the other half (CAR-T use grows),
    during a working day."""
    span = (latest - earliest).total_seconds()
    share = rng.random() if rng.random() < 0.5 else math.sqrt(rng.random())
    day = (earliest + timedelta(seconds=span * share)).date()
    moment = datetime(day.year, day.month, day.day, rng.randint(7, 15), rng.randrange(0, 60, 5), tzinfo=UTC)
    return min(moment, latest)


def copy_text(value) -> str:
    """One field in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def columns(model, names: list[str]) -> str:
    return ", ".join(model._meta.get_field(name).column for name in names)


class Generator:
    def __init__(self, *, patients: int, second_plan_share: float, seed: int, started: float):
        self.patient_count = patients
        self.second_plan_share = second_plan_share
        self.rng = random.Random(seed)
        self.started = started
        self.today = NOW.date()
        self.counts: dict[str, int] = {}

    # --- reference data ------------------------------------------------------------------------

    def organisations(self) -> None:
        from django.contrib.auth.hashers import make_password

        from atmp_clinic.accounts.models import Membership, Organisation, Role, User
        from atmp_clinic.products.models import AtmpClass, Origin, Product, VectorKind

        password = make_password(None)  # unusable: nobody logs in to the benchmark database
        self.authorities, self.hospitals = {}, []
        self.clinicians, self.pharmacists, self.reviewers = {}, {}, {}
        users, memberships, products = [], [], []
        for country, (authority_name, hospital_count, _, _) in COUNTRIES.items():
            authority = Organisation.objects.create(
                name=authority_name, kind=Organisation.Kind.AUTHORITY, country=country,
                validation_days=30, assessment_days=90, information_response_days=60,
                permit_validity_days=1825, expedited_report_deadline=timedelta(days=15),
                expedited_report_deadline_fatal=timedelta(days=7), notify_each_administration=country == "DE",
            )  # fmt: skip
            self.authorities[country] = authority
            reviewer = User(username=f"reviewer-{country.lower()}", password=password, email="")
            users.append(reviewer)
            memberships.append(
                Membership(user=reviewer, organisation=authority, role=Role.REVIEWER, is_validator=True,
                           is_assessor=True, is_decider=True)
            )  # fmt: skip
            self.reviewers[authority.pk] = reviewer
            for number in range(1, hospital_count + 1):
                hospital = Organisation.objects.create(
                    name=f"University Hospital {country}-{number}", kind=Organisation.Kind.HOSPITAL,
                    country=country, address=f"Hospital Street {number}\n{country} {1000 + number}",
                    phone=f"+{30 + len(self.hospitals)}{self.rng.randrange(10**8, 10**9)}",
                    manufacturing_authorisation_number=f"MIA-{country}-{number:04d}",
                )  # fmt: skip
                self.hospitals.append(hospital)
                code = f"{country.lower()}{number}"
                clinicians = [
                    User(username=f"clinician-{code}-{n}", password=password, email=f"clinician{n}@{code}.example")
                    for n in (1, 2)
                ]  # fmt: skip
                pharmacist = User(
                    username=f"pharmacist-{code}", password=password, email=f"qp@{code}.example"
                )
                users += [*clinicians, pharmacist]
                memberships += [
                    Membership(user=u, organisation=hospital, role=Role.CLINICIAN) for u in clinicians
                ]
                memberships.append(
                    Membership(user=pharmacist, organisation=hospital, role=Role.PHARMACIST, is_qualified_person=True)
                )  # fmt: skip
                self.clinicians[hospital.pk], self.pharmacists[hospital.pk] = clinicians, pharmacist
                products.append(
                    Product(hospital=hospital, name=f"CAR-T CD19 ({hospital.name})", atmp_class=AtmpClass.GENE_THERAPY,
                            origin=Origin.AUTOLOGOUS, vector_kind=VectorKind.LENTIVIRAL, created_by=pharmacist,
                            mechanism_of_action="Autologous T cells transduced with a lentiviral anti-CD19 CAR.")
                )  # fmt: skip
        analyst = User(username="analyst", password=password, email="analyst@registry.example")
        users.append(analyst)
        memberships.append(Membership(user=analyst, role=Role.ANALYST))
        User.objects.bulk_create(users)
        Membership.objects.bulk_create(memberships)
        self.products = {p.hospital_id: p for p in Product.objects.bulk_create(products)}
        self.counts["hospitals"], self.counts["authorities"] = len(self.hospitals), len(self.authorities)
        log(f"{len(self.hospitals)} hospitals and {len(self.authorities)} authorities", self.started)

    # --- patients and their histories ------------------------------------------------------------

    def draw_patients(self) -> None:
        rng, earliest = self.rng, NOW - timedelta(days=round(FOLLOW_UP_YEARS * 365.25))
        latest = NOW - timedelta(days=1)
        hospital_weights = {h: rng.uniform(0.5, 1.5) for h in self.hospitals}
        self.patients: list[PatientSeed] = []
        self.plans: list[PlanSeed] = []
        for index in range(self.patient_count):
            hospital = weighted(rng, hospital_weights)
            _, _, languages, home = COUNTRIES[hospital.country]
            language = weighted(rng, languages)
            time_zone = rng.choice(ABROAD) if rng.random() < 0.06 else home
            has_email, has_phone = rng.random() < 0.88, rng.random() < 0.75
            patient = PatientSeed(
                id=index + 1, hospital=hospital, language=language, time_zone=time_zone,
                email=f"patient{index + 1}@mail.example" if has_email else None,
                phone=f"+3{rng.randrange(10**9, 10**10)}" if has_phone else None,
            )  # fmt: skip
            first = administration_moment(rng, earliest, latest)
            patient.plans.append(PlanSeed(id=0, patient=patient, administered_at=first))
            # CAR-T: about one in ten dies within two years, then some 2 % a year.
            if rng.random() < 0.10:
                death = first + timedelta(days=rng.uniform(30, 730))
            else:
                death = first + timedelta(days=rng.expovariate(0.02) * 365.25)
            if death.date() < self.today:
                patient.death = death.date()
            elif rng.random() < 0.01:  # follow-up is part of the treatment consented to
                patient.treatment_withdrawn = (first + (NOW - first) * rng.uniform(0.1, 0.95)).date()
            # Most patients with an email consent to reminders by email, a few by SMS, some to neither;
            # a few consent without an address on record (their reminders are written cancelled).
            if (has_email and rng.random() < 0.78) or (not has_email and rng.random() < 0.15):
                patient.reminder_consents["email"] = [None, None]
            if has_phone and rng.random() < 0.25:
                patient.reminder_consents["sms"] = [None, None]
            self.patients.append(patient)
        # A second treatment (a new permit) for some patients: a new plan from its own day 0.
        eligible = [
            p for p in self.patients if (latest - p.plans[0].administered_at).days > 2 * 365 and not p.death
            and not p.treatment_withdrawn
        ]  # fmt: skip
        for patient in rng.sample(
            eligible, min(len(eligible), round(self.second_plan_share * self.patient_count))
        ):
            first = patient.plans[0].administered_at
            gap = rng.uniform(365, min(6 * 365, (latest - first).days))
            patient.plans.append(
                PlanSeed(id=0, patient=patient, administered_at=administration_moment(
                    rng, first + timedelta(days=gap), first + timedelta(days=gap)))
            )  # fmt: skip
        for patient in self.patients:
            given_on = (patient.plans[0].administered_at - timedelta(days=90)).date()
            for consent in patient.reminder_consents.values():
                consent[0] = given_on
                if rng.random() < 0.06:  # reminders switched off later
                    consent[1] = given_on + timedelta(
                        days=rng.randint(30, max(31, (self.today - given_on).days - 1))
                    )
            ended_on = patient.death or patient.treatment_withdrawn
            for plan in patient.plans:
                plan.id = len(self.plans) + 1
                if ended_on:
                    plan.status, plan.ended_on = "ended", ended_on
                    plan.end_reason = "death" if patient.death else "consent_withdrawn"
                self.plans.append(plan)
        log(f"drew {len(self.patients)} patients and {len(self.plans)} plans", self.started)

    def write_patients(self) -> None:
        from atmp_clinic.patients.models import Consent, Patient, PatientIdentity, Sex
        from atmp_clinic.patients.services import new_pseudonym

        rng, taken = self.rng, set()
        patients, identities, consents = [], [], []
        for seed in self.patients:
            pseudonym = new_pseudonym()
            while (seed.hospital.pk, pseudonym) in taken:
                pseudonym = new_pseudonym()
            taken.add((seed.hospital.pk, pseudonym))
            first = seed.plans[0].administered_at
            clinician = rng.choice(self.clinicians[seed.hospital.pk])
            patients.append(
                Patient(id=seed.id, hospital=seed.hospital, pseudonym=pseudonym, sex=rng.choice(list(Sex)[:3]),
                        year_of_birth=rng.randint(max(1930, first.year - 85), first.year - 3),
                        date_of_death=seed.death, created_by=clinician, created_at=first - timedelta(days=120))
            )  # fmt: skip
            identities.append(
                PatientIdentity(patient_id=seed.id, given_name=rng.choice(GIVEN[seed.language]),
                                family_name=rng.choice(FAMILY[seed.language]), email=seed.email, phone=seed.phone,
                                preferred_language=seed.language, time_zone=seed.time_zone)
            )  # fmt: skip
            given_on = (first - timedelta(days=90)).date()
            consents.append(
                Consent(patient_id=seed.id, kind="treatment", given_on=given_on, recorded_by=clinician,
                        withdrawn_on=seed.treatment_withdrawn,
                        withdrawal_recorded_by=clinician if seed.treatment_withdrawn else None)
            )  # fmt: skip
            if rng.random() < 0.92:
                consents.append(
                    Consent(patient_id=seed.id, kind="registry", given_on=given_on, recorded_by=clinician)
                )
            for channel, (given, withdrawn) in seed.reminder_consents.items():
                consents.append(
                    Consent(patient_id=seed.id, kind=f"reminder_{channel}", given_on=given, withdrawn_on=withdrawn,
                            recorded_by=clinician, withdrawal_recorded_by=clinician if withdrawn else None)
                )  # fmt: skip
        Patient.objects.bulk_create(patients, batch_size=5000)
        log(f"{len(patients)} patients", self.started)
        PatientIdentity.objects.bulk_create(identities, batch_size=2000)  # encrypted by the fields
        log(f"{len(identities)} identities (encrypted)", self.started)
        Consent.objects.bulk_create(consents, batch_size=5000)
        self.counts["patients"], self.counts["consents"] = len(patients), len(consents)
        log(f"{len(consents)} consents", self.started)

    def request_row(
        self, *, id: int, hospital, patient_id: int, clinician, created_at: datetime, state: str, planned: date,
        updated_at: datetime, validated: bool,
    ):  # fmt: skip
        """A request as the pharmacist files it and the authority's steps leave it in `state`."""
        from atmp_clinic.exemptions.models import ExemptionRequest, Route

        code, indication = self.rng.choice(INDICATIONS)
        pharmacist = self.pharmacists[hospital.pk]
        return ExemptionRequest(
            id=id, reference=f"HE-{hospital.country}-{created_at:%Y}-{id:05d}", hospital=hospital,
            authority=self.authorities[hospital.country], patient_id=patient_id, product=self.products[hospital.pk],
            state=state, indication_code=code, indication=indication,
            unmet_need="No authorised CAR-T product is available to this patient in time.",
            not_otherwise_available=True, criterion_non_routine=True, criterion_custom_made=True,
            criterion_individual_prescription=True, criterion_same_member_state=True,
            criterion_in_hospital=True, criterion_physician_responsibility=True,
            dose="1 × 10⁶ CAR+ T cells/kg", route=Route.INTRAVENOUS, frequency="a single infusion",
            batches_expected=1, planned_administration_date=planned,
            manufacturing_site=f"{hospital.name}, cell therapy unit",
            manufacturing_authorisation=hospital.manufacturing_authorisation_number,
            qualified_person=pharmacist.username, quality_summary="Per the product specification.",
            pharmacovigilance="Per the hospital's pharmacovigilance system.",
            follow_up_plan="15 years per the integrating-vector template.", responsible_physician=clinician,
            created_by=pharmacist, created_at=created_at, updated_at=updated_at,
            submitted_at=created_at + timedelta(days=2),
            validated_at=created_at + timedelta(days=20) if validated else None,
        )  # fmt: skip

    def write_chains(self) -> None:
        """Per plan: the approved request, its decision, collection, batch and administration."""
        from atmp_clinic.exemptions.models import Decision, ExemptionRequest, Outcome, State
        from atmp_clinic.followup.models import FollowUpPlan
        from atmp_clinic.followup.services import due_date
        from atmp_clinic.manufacturing.models import Administration, Batch, Collection

        rng = self.rng
        requests, decisions, collections, batches, administrations, plans = [], [], [], [], [], []
        for plan in self.plans:
            patient, hospital, at = plan.patient, plan.patient.hospital, plan.administered_at
            authority = self.authorities[hospital.country]
            clinician = rng.choice(self.clinicians[hospital.pk])
            pharmacist, reviewer = self.pharmacists[hospital.pk], self.reviewers[authority.pk]
            created_at = at - timedelta(days=rng.randint(70, 110))
            with_conditions = rng.random() < 0.1
            requests.append(
                self.request_row(
                    id=plan.id, hospital=hospital, patient_id=patient.id, clinician=clinician, created_at=created_at,
                    state=State.APPROVED_WITH_CONDITIONS if with_conditions else State.APPROVED,
                    planned=at.date(), updated_at=at - timedelta(days=30), validated=True,
                )
            )  # fmt: skip
            decided_at = at - timedelta(days=rng.randint(25, 40))
            decisions.append(
                Decision(request_id=plan.id, outcome=Outcome.APPROVED_WITH_CONDITIONS if with_conditions else
                         Outcome.APPROVED, reasons="The criteria of Article 28 are met.",
                         conditions="Report every administration within 15 days." if with_conditions else "",
                         follow_up_years=FOLLOW_UP_YEARS, follow_up_template=TEMPLATE,
                         valid_until=decided_at.date() + timedelta(days=authority.permit_validity_days),
                         decided_by=reviewer, decided_at=decided_at)
            )  # fmt: skip
            collected_at = at - timedelta(days=rng.randint(20, 30))
            collections.append(
                Collection(id=plan.id, request_id=plan.id, patient_id=patient.id, material="leukapheresis",
                           donation_identifier=f"{hospital.country}H{hospital.pk:05d}{plan.id:013d}",
                           collected_at=collected_at, collection_site=hospital.name, recorded_by=clinician,
                           recorded_at=collected_at)
            )  # fmt: skip
            released_at = at - timedelta(days=rng.randint(1, 4))
            batches.append(
                Batch(id=plan.id, request_id=plan.id, collection_id=plan.id, batch_number=f"CART-{at:%Y}-{plan.id:06d}",
                      manufactured_on=collected_at.date() + timedelta(days=2),
                      expires_on=collected_at.date() + timedelta(days=367), status=Batch.Status.ADMINISTERED,
                      released_by=pharmacist, released_at=released_at, created_by=pharmacist,
                      created_at=collected_at + timedelta(days=1))
            )  # fmt: skip
            administrations.append(
                Administration(id=plan.id, batch_id=plan.id, request_id=plan.id, patient_id=patient.id,
                               administered_at=at, dose="1 × 10⁶ CAR+ T cells/kg", administered_by=clinician,
                               recorded_at=at + timedelta(minutes=20),
                               authority_notified=authority.notify_each_administration)
            )  # fmt: skip
            starts_on = at.date()  # as plan_create: day 0 is the administration's date
            plans.append(
                FollowUpPlan(id=plan.id, administration_id=plan.id, patient_id=patient.id, template_code=TEMPLATE,
                             duration_years=FOLLOW_UP_YEARS, starts_on=starts_on,
                             ends_on=due_date(starts_on, FOLLOW_UP_YEARS, "years"), status=plan.status,
                             ended_on=plan.ended_on, end_reason=plan.end_reason, created_at=at + timedelta(minutes=20))
            )  # fmt: skip
        # Requests with an authority now, for patients of the last months still waiting for their
        # treatment: what the reviewers' worklists show (about two months of new requests).
        candidates = [p for p in self.patients if not p.death and not p.treatment_withdrawn]
        in_review = [State.SUBMITTED, State.UNDER_ASSESSMENT, State.READY_FOR_DECISION]
        for number, patient in enumerate(rng.sample(candidates, min(IN_REVIEW, len(candidates))), start=1):
            submitted_days = rng.randint(1, 100)
            state = State.SUBMITTED if submitted_days < 20 else rng.choices(in_review[1:], [3, 1])[0]
            created_at = NOW - timedelta(days=submitted_days + 2, hours=rng.randint(0, 8))
            requests.append(
                self.request_row(
                    id=len(self.plans) + number, hospital=patient.hospital, patient_id=patient.id,
                    clinician=rng.choice(self.clinicians[patient.hospital.pk]), created_at=created_at, state=state,
                    planned=(NOW + timedelta(days=rng.randint(20, 90))).date(),
                    updated_at=created_at + timedelta(days=min(20, submitted_days)), validated=state != State.SUBMITTED,
                )
            )  # fmt: skip
        self.counts["requests in review"] = len(requests) - len(self.plans)
        for model, rows in (
            (ExemptionRequest, requests), (Decision, decisions), (Collection, collections), (Batch, batches),
            (Administration, administrations),
        ):  # fmt: skip
            model.objects.bulk_create(rows, batch_size=2000)
        self.plan_rows = {plan.id: plan for plan in plans}
        self.counts["plans"] = len(plans)
        log(
            f"{len(self.plans)} approved requests with decisions, collections, batches, administrations; "
            f"{self.counts['requests in review']} requests in review",
            self.started,
        )

    # --- visits and the outbox ---------------------------------------------------------------

    def visit_history(self, plan_seed: PlanSeed, visits: list) -> None:
        """Statuses as the clinic would have left them by today: windows closed long ago are
        completed or missed (more missed as the years go by), open windows partly done, the rest
        scheduled; what an ended plan had left is cancelled."""
        rng, patient = self.rng, plan_seed.patient
        plan = self.plan_rows[plan_seed.id]
        until = min(self.today, plan_seed.ended_on) if plan_seed.ended_on else self.today
        clinicians = self.clinicians[patient.hospital.pk]
        for visit in visits:
            opens, closes, due = visit.window_opens_on, visit.window_closes_on, visit.due_on
            years = (due - plan.starts_on).days / 365.25
            performed = None
            if closes < until:
                if rng.random() >= 0.04 + 0.008 * years:
                    if rng.random() < 0.03 and closes + timedelta(days=2) < until:  # late, with a reason
                        performed = min(
                            until - timedelta(days=1), closes + timedelta(days=rng.randint(1, 25))
                        )
                        visit.out_of_window_reason = "The patient was in hospital during the window."
                    else:
                        spread = max(1, (closes - opens).days // 4)
                        performed = due + timedelta(days=round(rng.gauss(0, spread)))
                        performed = min(
                            max(performed, opens, plan.starts_on), closes, until - timedelta(days=1)
                        )
                else:
                    visit.status = "missed"
            elif opens < until and rng.random() < (0.6 if due < until else 0.15):
                performed = opens + timedelta(
                    days=rng.randint(0, (min(until, due + timedelta(days=1)) - opens).days - 1)
                )
            if performed:
                visit.status, visit.performed_on = "completed", performed
                visit.recorded_by_id = rng.choice(clinicians).pk
                recorded = performed + timedelta(days=rng.randint(0, 3))
                visit.recorded_at = min(
                    datetime(recorded.year, recorded.month, recorded.day, rng.randint(8, 17), tzinfo=UTC),
                    NOW - timedelta(hours=1),
                )
            elif visit.status == "scheduled" and plan_seed.ended_on:
                visit.status = "cancelled"
            elif (
                visit.status == "scheduled" and due >= self.today + timedelta(days=15) and rng.random() < 0.02
            ):
                visit.originally_due_on = due  # rescheduled by the clinic; the window stays
                visit.due_on = due + timedelta(days=rng.choice([-10, -7, -3, 2, 5, 9, 14]))
        recorded = [v for v in visits if v.status in ("completed", "missed")]
        recorded.sort(key=lambda v: v.due_on)
        if len(recorded) >= 2 and recorded[-1].status == recorded[-2].status == "missed":
            plan.at_risk_since = recorded[-1].window_closes_on + timedelta(days=1)

    def reminder_rows(self, plan_seed: PlanSeed, visits: list):
        """The outbox the dispatch wrote up to yesterday for these visits: one row per reminder
        point reached while the visit was scheduled, per channel consented then, sent (or cancelled
        for want of an address, a few failed, a few of yesterday's awaiting a retry)."""
        from django.conf import settings

        from atmp_clinic.followup.reminders import next_allowed

        rng, patient = self.rng, plan_seed.patient
        tz = self.zones.setdefault(patient.time_zone, zoneinfo.ZoneInfo(patient.time_zone))
        plan = self.plan_rows[plan_seed.id]
        points = settings.REMINDER_DAYS_BEFORE
        yesterday = self.today - timedelta(days=1)
        for visit in visits:
            due = visit.originally_due_on or visit.due_on
            for index, days in enumerate(points):
                nearer = points[index + 1] if index + 1 < len(points) else -1
                written_on = max(plan.starts_on, due - timedelta(days=days))
                if (due - written_on).days < nearer + 1 or written_on > yesterday:
                    continue
                if visit.performed_on and visit.performed_on < written_on:
                    continue  # done early: no longer scheduled when the point was reached
                if plan_seed.ended_on and plan_seed.ended_on <= written_on:
                    continue
                if written_on == plan.starts_on:  # the first sweep after the plan was made
                    written_at = plan_seed.administered_at + timedelta(minutes=25)
                else:  # the first sweep of that day
                    written_at = datetime(written_on.year, written_on.month, written_on.day, 0, 5, tzinfo=UTC)
                for channel, (given_on, withdrawn_on) in patient.reminder_consents.items():
                    if given_on > written_on or (withdrawn_on and withdrawn_on <= written_on):
                        continue
                    address = patient.email if channel == "email" else patient.phone
                    send_after = next_allowed(written_at, tz)
                    status, attempts, error, sent_at, subject, body = "sent", 1, "", None, "", ""
                    if not address:
                        status, attempts = "cancelled", 0
                        error = f"No {'email address' if channel == 'email' else 'mobile number'} on record."
                    else:
                        subject, body = self.texts(patient, visit, channel, days)
                        roll = rng.random()
                        if written_on == yesterday and roll < RETRYING_SHARE:
                            status, attempts, error = (
                                "pending",
                                rng.randint(1, 3),
                                "SMTPServerDisconnected: timed out",
                            )
                            send_after = NOW - timedelta(minutes=rng.randint(1, 90))
                        elif roll < FAILED_SHARE:
                            status, attempts, error = (
                                "failed",
                                8,
                                "SMTPRecipientsRefused: mailbox unavailable",
                            )
                        else:
                            sent_at = send_after + timedelta(seconds=rng.randint(2, 240))
                    self.outbox_id += 1
                    yield (
                        self.outbox_id, "visit_reminder", channel, visit.pk, due, days, patient.hospital.pk, None,
                        f"reminder-visit-{visit.pk}-{due:%Y%m%d}-{days}d-{channel}", status, send_after, attempts, error,
                        subject, body, written_at, sent_at,
                    )  # fmt: skip

    def texts(self, patient: PatientSeed, visit, channel: str, days: int) -> tuple[str, str]:
        """The words of a sent reminder, written once per hospital, language, channel, point and
        modality (with that visit's dates): the rows get realistic sizes without 500,000 renderings."""
        from atmp_clinic.followup import reminder_texts
        from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
        from atmp_clinic.patients.models import Patient

        key = (patient.hospital.pk, patient.language, channel, days, visit.modality)
        if key not in self.text_cache:
            stub = FollowUpVisit(
                plan=FollowUpPlan(patient=Patient(hospital=patient.hospital)), due_on=visit.due_on,
                window_opens_on=visit.window_opens_on, window_closes_on=visit.window_closes_on,
                modality=visit.modality,
            )  # fmt: skip
            if channel == "email":
                self.text_cache[key] = reminder_texts.reminder_email(
                    stub, days_before=days, language=patient.language
                )
            else:
                self.text_cache[key] = (
                    "",
                    reminder_texts.reminder_sms(stub, days_before=days, language=patient.language),
                )
        return self.text_cache[key]

    def write_visits_and_outbox(self) -> None:
        from django.db import connection, transaction

        from atmp_clinic.followup.models import (
            FollowUpPlan,
            FollowUpTemplateDefinition,
            FollowUpVisit,
            OutboxMessage,
        )

        template = FollowUpTemplateDefinition.objects.prefetch_related("visits").get(code=TEMPLATE)
        self.zones, self.text_cache, self.outbox_id = {}, {}, 0
        visit_fields = [
            "id", "plan", "label", "due_on", "window_opens_on", "window_closes_on", "modality", "collects", "status",
            "added_by_amendment", "originally_due_on", "performed_on", "out_of_window_reason", "note",
            "recorded_by", "recorded_at",
        ]  # fmt: skip
        outbox_fields = [
            "id", "kind", "channel", "visit", "visit_due_on", "days_before", "hospital", "recipient", "idempotency_key", "status",
            "send_after", "attempts", "last_error", "subject", "body", "created_at", "sent_at",
        ]  # fmt: skip
        visit_count = outbox_count = 0
        with (
            tempfile.TemporaryFile("w+", encoding="utf-8") as outbox_file,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            copy_sql = (
                f"COPY {FollowUpVisit._meta.db_table} ({columns(FollowUpVisit, visit_fields)}) FROM STDIN"
            )
            with cursor.copy(copy_sql) as copy:
                for plan_seed in self.plans:
                    visits = plan_visits(self.plan_rows[plan_seed.id], template, FOLLOW_UP_YEARS)
                    for visit in visits:
                        visit_count += 1
                        visit.pk = visit_count
                    self.visit_history(plan_seed, visits)
                    for visit in visits:
                        copy.write_row(
                                [visit.pk, visit.plan_id, visit.label, visit.due_on, visit.window_opens_on,
                                 visit.window_closes_on, visit.modality, json.dumps(visit.collects), visit.status,
                                 visit.added_by_amendment, visit.originally_due_on, visit.performed_on,
                                 visit.out_of_window_reason, visit.note, visit.recorded_by_id, visit.recorded_at]
                            )  # fmt: skip
                    for row in self.reminder_rows(plan_seed, visits):
                        outbox_file.write("\t".join(map(copy_text, row)) + "\n")
                        outbox_count += 1
            log(f"{visit_count} visits (COPY)", self.started)
            # at_risk_since was decided from the visits' history
            at_risk = [plan for plan in self.plan_rows.values() if plan.at_risk_since]
            FollowUpPlan.objects.bulk_create(self.plan_rows.values(), batch_size=2000)
            log(f"{len(self.plan_rows)} plans ({len(at_risk)} at risk of loss to follow-up)", self.started)
            outbox_file.seek(0)
            copy_sql = (
                f"COPY {OutboxMessage._meta.db_table} ({columns(OutboxMessage, outbox_fields)}) FROM STDIN"
            )
            with cursor.copy(copy_sql) as copy:
                while chunk := outbox_file.read(1 << 20):
                    copy.write(chunk)
            log(f"{outbox_count} outbox rows written up to yesterday (COPY)", self.started)
        self.counts["visits"], self.counts["outbox"] = visit_count, outbox_count

    def write_adverse_events(self, total: int) -> None:
        """`total` adverse events spread over the plans' followed years, most in the first months
        (CRS and ICANS in the first weeks), and an expedited report for each serious related one:
        submitted in time mostly, late now and then, still open when recent."""
        from django.db import connection, transaction

        from atmp_clinic.registry.models import AdverseEvent, ExpeditedReport

        rng = self.rng
        plans = [(seed, self.plan_rows[seed.id]) for seed in self.plans]
        followed = [max(1, ((seed.ended_on or self.today) - plan.starts_on).days) for seed, plan in plans]
        event_fields = [
            "id", "plan", "patient", "kind", "term", "onset_on", "resolved_on", "grade", "grading_criteria",
            "grading_reasons", "serious", "seriousness", "relatedness", "outcome", "special_interest", "recorded_by",
            "recorded_at",
        ]  # fmt: skip
        report_fields = [
            "adverse_event", "hospital", "authority", "due_on", "status", "narrative", "opened_at", "submitted_at",
            "submitted_by", "acknowledged_at", "acknowledged_by",
        ]  # fmt: skip
        reports = []
        with transaction.atomic(), connection.cursor() as cursor:
            copy_sql = (
                f"COPY {AdverseEvent._meta.db_table} ({columns(AdverseEvent, event_fields)}) FROM STDIN"
            )
            with cursor.copy(copy_sql) as copy:
                for event_id, (seed, plan) in enumerate(
                    rng.choices(plans, weights=followed, k=total), start=1
                ):
                    span = max(1, ((seed.ended_on or self.today) - plan.starts_on).days)
                    day = rng.randint(0, min(span, 90)) if rng.random() < 0.5 else rng.randint(0, span)
                    onset = min(plan.starts_on + timedelta(days=day), self.today - timedelta(days=1))
                    kind, term, special = "general", rng.choice(AE_TERMS), []
                    if day <= 21 and rng.random() < 0.5:
                        kind, term = rng.choice([("crs", "Cytokine release syndrome"), ("icans", "ICANS")])
                    elif rng.random() < 0.03:
                        term, special = rng.choice(AE_SPECIAL)
                    grade = rng.choices([1, 2, 3, 4, 5], [40, 30, 20, 8, 2])[0]
                    serious = grade >= 3 or bool(special)
                    related = rng.choices(["not_related", "unlikely", "possible", "probable", "definite"],
                                          [20, 20, 25, 25, 10])[0]  # fmt: skip
                    outcome = "fatal" if grade == 5 else rng.choice(["recovered", "recovered", "recovering"])
                    resolved = onset + timedelta(days=rng.randint(1, 30)) if outcome == "recovered" else None
                    recorded_at = datetime(
                        onset.year, onset.month, onset.day, rng.randint(8, 17), tzinfo=UTC
                    ) + (timedelta(days=rng.randint(0, 3)))
                    recorded_at = min(recorded_at, NOW - timedelta(hours=1))
                    hospital = seed.patient.hospital
                    copy.write_row(
                        [event_id, plan.id, seed.patient.id, kind, term, onset,
                         min(resolved, self.today) if resolved else None, grade, "{}", "[]", serious,
                         json.dumps(["death"] if grade == 5 else ["hospitalisation"] if serious else []), related,
                         outcome, json.dumps(special), rng.choice(self.clinicians[hospital.pk]).pk, recorded_at]
                    )  # fmt: skip
                    if serious and related in ("possible", "probable", "definite"):
                        due_on = onset + timedelta(days=7 if grade >= 4 else 15)
                        recent = (self.today - onset).days < 20
                        submitted = (
                            None
                            if recent and rng.random() < 0.6
                            else recorded_at + timedelta(days=rng.choice([1, 3, 6, 10, 20]))
                        )
                        submitted = min(submitted, NOW - timedelta(minutes=30)) if submitted else None
                        # the authority acknowledges within days: only the last fortnight's wait for it
                        acknowledged = submitted + timedelta(days=rng.randint(1, 10)) if submitted else None
                        if acknowledged and acknowledged > NOW - timedelta(days=1):
                            acknowledged = None
                        authority = self.authorities[hospital.country]
                        status = "acknowledged" if acknowledged else "submitted" if submitted else "open"
                        reports.append(
                            [event_id, hospital.pk, authority.pk, due_on, status, "", recorded_at, submitted,
                             self.pharmacists[hospital.pk].pk if submitted else None, acknowledged,
                             self.reviewers[authority.pk].pk if acknowledged else None]
                        )  # fmt: skip
            copy_sql = f"COPY {ExpeditedReport._meta.db_table} ({columns(ExpeditedReport, report_fields)}) FROM STDIN"
            with cursor.copy(copy_sql) as copy:
                for row in reports:
                    copy.write_row(row)
        self.counts["adverse events"], self.counts["expedited reports"] = total, len(reports)
        log(f"{total} adverse events, {len(reports)} expedited reports (COPY)", self.started)

    def grant_permissions(self) -> None:
        """The object permissions the services grant (patients.services.patient_create,
        exemptions.services request create and submit, products and manufacturing services), given
        to the organisation groups in one INSERT … SELECT per grant instead of one assign_perm per
        object; the groups and each user's membership of them through the services themselves."""
        from django.contrib.auth.models import Permission
        from django.contrib.contenttypes.models import ContentType
        from django.db import connection
        from guardian.utils import get_group_obj_perms_model

        from atmp_clinic.accounts import services as accounts_services
        from atmp_clinic.accounts.models import OrganisationGroup, Role, User
        from atmp_clinic.exemptions.models import ExemptionRequest
        from atmp_clinic.manufacturing.models import Batch
        from atmp_clinic.patients.models import Patient
        from atmp_clinic.products.models import Product

        for country in COUNTRIES:
            accounts_services._sync_organisation_visibility(country=country)
        for user in User.objects.filter(memberships__isnull=False).distinct():
            accounts_services.user_sync_groups(user=user)
        # (model, codename, the organisation column of the object's table, the group's role)
        grants = [
            (Patient, "view_patient", "hospital_id", ""), (Patient, "change_patient", "hospital_id", ""),
            (Patient, "view_identity", "hospital_id", ""),
            (ExemptionRequest, "view_exemptionrequest", "hospital_id", ""),
            (ExemptionRequest, "change_exemptionrequest", "hospital_id", Role.PHARMACIST),
            (ExemptionRequest, "view_exemptionrequest", "authority_id", ""),
            (Product, "view_product", "hospital_id", ""), (Product, "change_product", "hospital_id", Role.PHARMACIST),
        ]  # fmt: skip
        batch_grants = [("view_batch", "hospital_id", ""), ("change_batch", "hospital_id", Role.PHARMACIST),
                        ("view_batch", "authority_id", "")]  # fmt: skip
        organisations = {o.pk: o for o in self.hospitals} | {o.pk: o for o in self.authorities.values()}
        for organisation in organisations.values():  # the groups the grants name, made as the services do
            accounts_services.organisation_group(organisation=organisation)
            if organisation.is_hospital:
                accounts_services.organisation_group(organisation=organisation, role=Role.PHARMACIST)
        rows = 0
        with connection.cursor() as cursor:
            for model, codename, column, role in [
                *grants,
                *((Batch, codename, column, role) for codename, column, role in batch_grants),
            ]:
                permission = Permission.objects.get(
                    codename=codename, content_type=ContentType.objects.get_for_model(model)
                )
                table = model._meta.db_table
                source = (
                    f"(SELECT b.id, r.{column} AS organisation_id FROM {table} b "
                    f"JOIN {ExemptionRequest._meta.db_table} r ON r.id = b.request_id)"
                    if model is Batch
                    else f"(SELECT id, {column} AS organisation_id FROM {table})"
                )
                cursor.execute(
                    f"INSERT INTO {get_group_obj_perms_model(model)._meta.db_table} (permission_id, group_id, content_object_id) "
                    f"SELECT %s, g.group_id, o.id FROM {source} o "
                    f"JOIN {OrganisationGroup._meta.db_table} g ON g.organisation_id = o.organisation_id AND g.role = %s "
                    "WHERE o.organisation_id IS NOT NULL",
                    [permission.pk, role],
                )  # fmt: skip
                rows += cursor.rowcount
        self.counts["object permissions"] = rows
        log(f"{rows} object permissions granted to the organisation groups", self.started)

    def finish(self) -> None:
        from django.apps import apps
        from django.core.management.color import no_style
        from django.db import connection

        models = [m for app in ("accounts", "patients", "exemptions", "manufacturing", "followup", "products", "registry")
                  for m in apps.get_app_config(app).get_models()]  # fmt: skip
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(statement)
            cursor.execute("VACUUM (ANALYZE)")  # as autovacuum would have by the morning
        log("sequences reset, VACUUM ANALYZE", self.started)


def plan_visits(plan, template, follow_up_years: int) -> list:
    """The visits `followup.services.plan_create` makes for this plan, built the same way."""
    from atmp_clinic.followup.models import Modality, OffsetUnit
    from atmp_clinic.followup.services import _visit, due_date

    definitions = template.visits.all()
    visits = [
        _visit(plan, label=d.label, offset=d.offset, unit=d.offset_unit, window=d.window_days, modality=d.modality,
               collects=d.collects)
        for d in definitions
    ]  # fmt: skip
    visits = [visit for visit in visits if visit.due_on <= plan.ends_on]
    last = max(definitions, key=lambda d: due_date(plan.starts_on, d.offset, d.offset_unit), default=None)
    for year in range(template.duration_years + 1, follow_up_years + 1):
        visits.append(
            _visit(plan, label=f"Year {year}", offset=year, unit=OffsetUnit.YEAR, window=30,
                   modality=last.modality if last else Modality.PHONE, collects=last.collects if last else [])
        )  # fmt: skip
    return visits


def check_against_plan_create(sample: int = 5) -> None:
    """Rebuild a few plans with the real `plan_create` (in a transaction rolled back) and compare
    their visits with the generated ones (a rescheduled visit by its plan date)."""
    from django.db import transaction

    from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit, OutboxMessage
    from atmp_clinic.followup.services import plan_create

    def described(visits) -> list[tuple]:
        return [
            (
                v.label,
                v.originally_due_on or v.due_on,
                v.window_opens_on,
                v.window_closes_on,
                v.modality,
                v.collects,
            )
            for v in visits
        ]

    # A plan with adverse events cannot be deleted (PROTECT): those without any are compared.
    plans = list(
        FollowUpPlan.objects.filter(adverse_events__isnull=True)
        .select_related("administration")
        .order_by("?")[:sample]
    )
    for plan in plans:
        with transaction.atomic():
            generated = described(plan.visits.order_by("id"))
            OutboxMessage.objects.filter(visit__plan=plan).delete()
            FollowUpVisit.objects.filter(plan=plan).delete()
            FollowUpPlan.objects.filter(pk=plan.pk).delete()
            rebuilt = described(plan_create(administration=plan.administration).visits.order_by("id"))
            transaction.set_rollback(True)
        if generated != rebuilt:
            raise SystemExit(
                f"The generated visits of plan {plan.pk} differ from plan_create's:\n{generated}\n{rebuilt}"
            )
    print(
        f"          checked: the visits of {len(plans)} random plans are those plan_create makes", flush=True
    )


def record_generation(*, seconds: float, args: dict, counts: dict) -> None:
    """Kept in the benchmark database (outside Django's tables) for the benchmarks' reports."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_generation (generated_at timestamptz, now timestamptz, seconds float, "
            "args jsonb, counts jsonb)"
        )
        cursor.execute(
            "INSERT INTO bench_generation VALUES (now(), %s, %s, %s, %s)",
            [NOW, seconds, json.dumps(args), json.dumps(counts)],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument(
        "--second-plan-share", type=float, default=0.14,
        help="patients treated a second time under a new permit, with a second plan (default 0.14)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--adverse-events", type=int, default=100_000)
    args = parser.parse_args()

    url = setup_django()
    started = time.perf_counter()
    print(f"Generating into {database_name(url)} around {NOW:%Y-%m-%d %H:%M} UTC", flush=True)
    recreate_database(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    log("database dropped, created and migrated", started)
    generator = Generator(
        patients=args.patients, second_plan_share=args.second_plan_share, seed=args.seed, started=started
    )
    generator.organisations()
    generator.draw_patients()
    generator.write_patients()
    generator.write_chains()
    generator.write_visits_and_outbox()
    generator.write_adverse_events(args.adverse_events)
    generator.grant_permissions()
    generator.finish()
    check_against_plan_create()
    # The registry's 2,000,000 outcome observations: fortnightly questionnaires on top of the
    # template's visits, written by the registry export's benchmark, which reports them.
    from bench.registry_export import TARGET_ROWS, prepare

    outcomes = prepare(TARGET_ROWS)
    generator.counts["outcomes"] = outcomes["after"]["outcomes"]
    generator.counts["visits"] = outcomes["after"]["visits"]
    log(f"{outcomes['after']['outcomes']} outcomes over {outcomes['after']['visits']} visits", started)
    elapsed = time.perf_counter() - started
    record_generation(seconds=elapsed, args=vars(args), counts=generator.counts)
    counts = ", ".join(f"{value:,} {name}" for name, value in generator.counts.items())
    print(f"Done in {elapsed:.0f} s ({elapsed / 60:.1f} min), peak RSS {rss_mb()[1]:.0f} MB: {counts}")


if __name__ == "__main__":
    main()
