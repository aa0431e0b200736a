"""Demo chains of identity, walked through the services: in every hospital the approved request's
product collected, made, tested, released and given; the request approved with conditions has a
batch held in testing with one result out of specification. Seeds a hospital only while none of
its requests has a collection."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from atmp_clinic.accounts.demo import DEMO_PASSWORD
from atmp_clinic.accounts.models import User
from atmp_clinic.exemptions.demo import HOSPITAL_STAFF
from atmp_clinic.exemptions.models import ExemptionRequest, State
from atmp_clinic.products.models import ReleaseTest

from . import services
from .models import Collection

CENTS = Decimal("0.01")


def passing(test: ReleaseTest) -> dict:
    """A result inside the test's specification."""
    if test.expected_result:
        return {"observation": test.expected_result}
    if test.lower_limit is not None:
        value = (test.lower_limit * Decimal("1.2")).quantize(CENTS)
        return {"value": min(value, Decimal(100)) if test.unit.strip() == "%" else value}
    return {"value": (test.upper_limit / 2).quantize(CENTS)}


def failing(test: ReleaseTest) -> dict:
    return {"value": (test.lower_limit * Decimal("0.8")).quantize(CENTS)}


def _chain(request: ExemptionRequest, *, pharmacist: User, clinician: User, number: int, give: bool) -> None:
    collected = timezone.now() - timedelta(days=20)
    collection = services.collection_record(
        actor=clinician, request=request, donation_identifier=f"{request.hospital.country}000123EU{number:011d}",
        material="Leukapheresis" if request.product.is_cell_based else "Not applicable (in-vivo vector)",
        collected_at=collected, collection_site=f"Collection unit, {request.hospital.name}",
    )  # fmt: skip
    batch = services.batch_create(
        actor=pharmacist, collection=collection, batch_number=f"{request.reference}-B1",
        manufactured_on=collected.date() + timedelta(days=9), expires_on=collected.date() + timedelta(days=60),
    )  # fmt: skip
    tests = list(request.product.release_tests.all())
    held = None if give else next((t for t in tests if t.lower_limit is not None), None)
    for test in tests:
        result = failing(test) if test == held else passing(test)
        services.result_record(actor=pharmacist, batch=batch, test=test, **result)
    if give:
        services.batch_release(actor=pharmacist, batch=batch, password=DEMO_PASSWORD)
        services.administration_record(
            actor=clinician, batch=batch, administered_at=timezone.now(),
            dose=request.dose, patient_code=request.patient.pseudonym, batch_code=batch.batch_number,
        )  # fmt: skip


@transaction.atomic
def seed_chains() -> int:
    created = 0
    for pharmacist_name, clinician_name in HOSPITAL_STAFF:
        pharmacist = User.objects.get(username=pharmacist_name)
        clinician = User.objects.get(username=clinician_name)
        hospital = pharmacist.memberships.get(ended_at__isnull=True).organisation
        if Collection.objects.filter(request__hospital=hospital).exists():
            continue
        for state, give in ((State.APPROVED, True), (State.APPROVED_WITH_CONDITIONS, False)):
            request = ExemptionRequest.objects.filter(hospital=hospital, state=state).order_by("pk").first()
            if request is None:
                continue
            created += 1
            number = request.pk * 10 + created
            _chain(request, pharmacist=pharmacist, clinician=clinician, number=number, give=give)
    return created
