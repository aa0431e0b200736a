"""Patients of the demo's first hospital who were given the demo CAR-T, with the consents and
contact data a reminder test names, and one follow-up visit on the date it names."""

import itertools
from datetime import date, timedelta

import pytest
from django.utils import timezone

from atmp_clinic.exemptions import services as exemption_services
from atmp_clinic.followup.models import FollowUpVisit
from atmp_clinic.manufacturing import services as manufacturing_services
from atmp_clinic.patients import services as patient_services
from atmp_clinic.patients.models import ConsentKind, Patient
from atmp_clinic.products.models import Product
from tests.conftest import signature_of
from tests.exemptions.conftest import complete_fields, user
from tests.manufacturing.conftest import collect, make_batch, record_results

EMAIL = ConsentKind.REMINDER_EMAIL
SMS = ConsentKind.REMINDER_SMS
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _demo(demo):
    """Every test here works on the demo's people and products (seeded again after a test that
    emptied the database)."""


def enrolled_patient(
    *,
    consents=(EMAIL,),
    email: str | None = "",
    phone: str | None = "+31612345678",
    time_zone: str = "Europe/Amsterdam",
    language: str = "en",
) -> Patient:
    """A new patient who consented to treatment and to the reminder channels named. An empty
    `email` means a fresh address of their own; None means none on record."""
    clinician = user("clinician")
    if email == "":
        email = f"reminder-patient-{next(_numbers)}@example.org"
    patient = patient_services.patient_create(
        actor=clinician, hospital=clinician.memberships.get().organisation, year_of_birth=1980, sex="female",
        given_name="Noor", family_name="de Wit", email=email, phone=phone, preferred_language=language,
        time_zone=time_zone,
    )  # fmt: skip
    for kind in (ConsentKind.TREATMENT, *consents):
        patient_services.consent_give(
            actor=clinician, patient=patient, kind=kind, given_on=timezone.localdate()
        )
    return patient


def approved_for(patient: Patient):
    """The demo CAR-T approved for this patient, through each step of the lifecycle."""
    services = exemption_services
    request = services.request_create(
        actor=user("pharmacist"), patient=patient, product=Product.objects.get(name="CD19 CAR-T cells"),
        **complete_fields(),
    )  # fmt: skip
    services.request_co_sign(actor=user("clinician"), request=request, **signature_of(user("clinician")))
    request = services.request_submit(
        actor=user("pharmacist"), request=request, **signature_of(user("pharmacist"))
    )
    request = services.request_validate(actor=user("reviewer"), request=request)
    for assessor, kind in (("assessor", "quality"), ("assessor2", "clinical")):
        services.assessment_record(
            actor=user(assessor), request=request, kind=kind, report="Adequate.", recommendation="approve"
        )
    request.refresh_from_db()
    services.request_decide(
        actor=user("decider"),
        request=request,
        **signature_of(user("decider")),
        outcome="approved",
        reasons="Criteria met.",
    )
    request.refresh_from_db()
    return request


def plan_for(patient: Patient):
    """The plan made when the patient was given the product (now, day 0)."""
    batch = make_batch(collect(request=approved_for(patient)))
    record_results(batch)
    batch = manufacturing_services.batch_release(
        actor=user("pharmacist"), batch=batch, **signature_of(user("pharmacist"))
    )
    administration = manufacturing_services.administration_record(
        actor=user("clinician"), batch=batch, administered_at=batch.released_at, dose="1 bag",
        patient_code=patient.pseudonym, batch_code=batch.batch_number,
    )  # fmt: skip
    return administration.follow_up_plan


def visit_due(*, on: date, **patient) -> FollowUpVisit:
    """The first visit of a new patient's plan, due `on`; the plan's other visits are set aside
    (cancelled) so that the only reminders the patient can get are this visit's."""
    plan = plan_for(enrolled_patient(**patient))
    visit = plan.visits.order_by("due_on").first()
    plan.visits.exclude(pk=visit.pk).update(status=FollowUpVisit.Status.CANCELLED)
    window = timedelta(days=3)
    FollowUpVisit.objects.filter(pk=visit.pk).update(
        due_on=on, window_opens_on=on - window, window_closes_on=on + window
    )
    visit.refresh_from_db()
    return visit


@pytest.fixture
def reminder_visit():
    """A visit due `on` a date, or `in_days` after today (UTC, as the sweep counts), of a new patient
    who consented to email reminders unless told otherwise: reminder_visit(in_days=2, consents=(SMS,))."""

    def make(*, on: date | None = None, in_days: int | None = None, **patient) -> FollowUpVisit:
        if on is None:
            on = timezone.now().date() + timedelta(days=in_days)
        return visit_due(on=on, **patient)

    return make
