from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from atmp_clinic.manufacturing import services
from atmp_clinic.manufacturing.models import Batch, Collection
from tests.conftest import signature_of
from tests.exemptions.conftest import approved, user

# A passing result for each test of the demo CAR-T's specification, by kind.
PASSING = {
    "identity": Decimal(42),
    "viability": Decimal("91.5"),
    "potency": Decimal(1200),
    "sterility": "No growth",
    "endotoxin": Decimal("0.1"),
    "mycoplasma": "not detected",
    "vector_copy_number": Decimal("1.8"),
}


def collect(request=None, **overrides) -> Collection:
    fields = {
        "donation_identifier": "NL000123G123498654321",
        "check_character": "H",
        "material": "Leukapheresis",
        "collected_at": timezone.now() - timedelta(days=10),
        "collection_site": "Apheresis unit, Amstel UMC",
    } | overrides
    return services.collection_record(actor=user("clinician"), request=request or approved(), **fields)


def make_batch(collection: Collection | None = None, **overrides) -> Batch:
    fields = {
        "batch_number": "CART-2026-001",
        "manufactured_on": timezone.localdate() - timedelta(days=2),
        "expires_on": timezone.localdate() + timedelta(days=30),
    } | overrides
    return services.batch_create(actor=user("pharmacist"), collection=collection or collect(), **fields)


def record_results(batch: Batch, **failing) -> None:
    """Every test of the specification, passing unless named: kind=value."""
    for test in batch.request.product.release_tests.all():
        result = failing.get(test.kind, PASSING[test.kind])
        if isinstance(result, str):
            services.result_record(actor=user("pharmacist"), batch=batch, test=test, observation=result)
        else:
            services.result_record(actor=user("pharmacist"), batch=batch, test=test, value=result)


def released_batch() -> Batch:
    batch = make_batch()
    record_results(batch)
    return services.batch_release(actor=user("pharmacist"), batch=batch, **signature_of(user("pharmacist")))


@pytest.fixture(autouse=True)
def _demo(demo):
    """Every test here works on the demo's people, products and patients."""
