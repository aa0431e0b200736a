"""Issue 4's story in a real browser: after approval the clinician records the collection, the
pharmacist makes the batch and records its results (one out of specification), the physician
justifies an exceptional release, the qualified person releases, and the clinician gives it after
the bedside check. Each step is its own logged-in user."""

import pytest
from django.utils import timezone

from atmp_clinic.accounts.demo import DEMO_PASSWORD
from atmp_clinic.manufacturing.models import Batch
from tests.e2e.conftest import Person, screenshot
from tests.exemptions.conftest import approved

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RESULTS = {  # by kind: what the pharmacist types; viability is out of specification (≥ 70 %)
    "identity": ("Value", "42"),
    "viability": ("Value", "55"),
    "potency": ("Value", "1200"),
    "sterility": ("Observation", "No growth"),
    "endotoxin": ("Value", "0.1"),
    "mycoplasma": ("Observation", "Not detected"),
    "vector_copy_number": ("Value", "1.8"),
}


def test_collection_to_administration_through_an_exceptional_release(site, browser):
    request = approved()

    clinician = Person(browser, site, "clinician")
    clinician.open(request)
    page = clinician.page
    page.get_by_role("link", name="Record a collection").click()
    page.get_by_label("Donation identification sequence (SEC)").fill("NL 000123 G123 498 654 321")
    page.get_by_label("Check character").fill("H")
    page.get_by_label("Material").fill("Leukapheresis")
    page.get_by_label("Collected at").fill(timezone.now().strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Collection site").fill("Apheresis unit")
    page.get_by_role("button", name="Record the collection").click()
    page.get_by_text("Collection recorded.").wait_for()

    pharmacist = Person(browser, site, "pharmacist")
    pharmacist.open(request)
    page = pharmacist.page
    page.get_by_role("link", name="New batch from this collection").click()
    page.get_by_label("Batch number").fill("CART-2026-042")
    page.get_by_label("Manufactured on").fill(timezone.localdate().isoformat())
    page.get_by_label("Expires on").fill((timezone.localdate() + timezone.timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Create the batch").click()
    page.get_by_text("Batch CART-2026-042 created.").wait_for()
    batch = Batch.objects.get(batch_number="CART-2026-042")
    for test in batch.request.product.release_tests.all():
        field, typed = RESULTS[test.kind]
        pharmacist.take(
            "Record a result", **{"Test": f"{test.name} (specification: {test.specification})", field: typed}
        )
    page.get_by_text("No: out of specification").wait_for()
    screenshot(page, "chain-1-out-of-specification")

    clinician.page.goto(f"{site}/batches/{batch.pk}/")
    clinician.take("Justify an exceptional release", Password=DEMO_PASSWORD,
                   Justification="No alternative; 55 % viability is acceptable for this patient.")  # fmt: skip

    pharmacist.page.goto(f"{site}/batches/{batch.pk}/")
    pharmacist.take("Release the batch", Password=DEMO_PASSWORD)
    pharmacist.page.get_by_text("Released exceptionally (out of specification)").first.wait_for()
    pharmacist.close()

    clinician.page.goto(f"{site}/batches/{batch.pk}/")
    clinician.take(
        "Record the administration",
        **{"Administered at": timezone.now().strftime("%Y-%m-%dT%H:%M"), "Dose": "1 × 10⁶ CAR+ T cells/kg",
           "Patient code": request.patient.pseudonym, "Batch code": "cart 2026 042"},
    )  # fmt: skip
    screenshot(clinician.page, "chain-2-administered")
    clinician.page.goto(f"{site}/patients/{request.patient_id}/traceability/")
    clinician.page.get_by_text("Collection NL000123G123498654321").wait_for()
    screenshot(clinician.page, "chain-3-traceability")
    clinician.close()

    batch.refresh_from_db()
    assert batch.status == "administered" and batch.administration.patient == request.patient
