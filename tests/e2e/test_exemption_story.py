"""Issue 3's story in a real browser: a pharmacist files and submits, the physician co-signs, the
validator validates, two assessors assess with a request for information between them that the
pharmacist answers, and the decider approves with conditions. Each step is its own logged-in user."""

from datetime import timedelta

import pytest
from django.utils import timezone

from atmp_clinic.accounts.demo import DEMO_PASSWORD
from atmp_clinic.exemptions.models import CRITERIA, ExemptionRequest
from atmp_clinic.patients.models import Patient
from tests.e2e.conftest import Person, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_request_from_draft_to_approval_with_conditions(site, browser):
    patient = Patient.objects.get(user__username="patient")

    pharmacist = Person(browser, site, "pharmacist")
    page = pharmacist.page
    page.get_by_role("link", name="New exemption request").click()
    page.get_by_label("Patient", exact=True).select_option(label=patient.pseudonym)
    page.get_by_label("Product", exact=True).select_option(label="CD19 CAR-T cells")
    page.get_by_label("Indication (ICD-10 code)", exact=True).fill("C83.3")
    page.get_by_label("Indication", exact=True).fill("Diffuse large B-cell lymphoma, second relapse")
    page.get_by_label("Justification of the unmet need").fill("No authorised CAR-T is available to her.")
    page.get_by_label("Not available through a marketing authorisation", exact=False).check()
    for label in CRITERIA.values():
        page.get_by_label(label, exact=True).check()
    page.get_by_label("Dose", exact=True).fill("1 × 10⁶ CAR+ T cells/kg")
    page.get_by_label("Route", exact=True).select_option(label="Intravenous infusion")
    page.get_by_label("Frequency", exact=True).fill("Single infusion")
    page.get_by_label("Batches expected", exact=True).fill("1")
    planned = timezone.localdate() + timedelta(days=30)
    page.get_by_label("Planned administration date").fill(planned.isoformat())
    page.get_by_label("Manufacturing site", exact=True).fill("GMP facility, Amstel UMC")
    page.get_by_label("Qualified person for batch release").fill("Dr. Ingrid Smeets")
    page.get_by_label("Quality summary", exact=True).fill("Closed-system lentiviral transduction.")
    page.get_by_label("Pharmacovigilance arrangements").fill("Reactions reported within 48 hours.")
    page.get_by_label("Proposed follow-up plan").fill("15 years, integrating-vector template.")
    page.get_by_label("Responsible physician", exact=True).select_option(label="Pieter Jansen")
    page.get_by_role("button", name="Save the draft").click()
    page.get_by_text("Nothing is missing").wait_for()
    screenshot(page, "story-1-draft")
    # The newest: the seeded demo has a request of this patient for this indication too.
    request = ExemptionRequest.objects.filter(indication_code="C83.3", patient=patient).latest("pk")

    clinician = Person(browser, site, "clinician")
    clinician.page.get_by_role("link", name=request.reference).click()
    clinician.take("Sign as responsible physician", Password=DEMO_PASSWORD)
    clinician.close()

    pharmacist.open(request)
    pharmacist.take("Submit to the authority", Password=DEMO_PASSWORD)
    screenshot(page, "story-2-submitted")

    validator = Person(browser, site, "reviewer")
    validator.page.get_by_role("link", name=request.reference).click()
    validator.take("Validate")
    validator.close()

    assessor = Person(browser, site, "assessor")
    assessor.open(request)
    assessor.take("Record an assessment", Kind="Quality assessment", Report="Quality adequate.",
                  Recommendation="Approve")  # fmt: skip
    assessor.close()

    reviewer = Person(browser, site, "reviewer")
    reviewer.open(request)
    reviewer.take("Ask the hospital for information", Questions="Please send the potency assay validation.")
    reviewer.close()

    pharmacist.open(request)
    pharmacist.take("Answer the authority", Answer="The validation report is attached to our dossier.")
    screenshot(page, "story-3-answered")
    pharmacist.close()

    assessor2 = Person(browser, site, "assessor2")
    assessor2.open(request)
    assessor2.take("Record an assessment", Kind="Clinical assessment", Report="Benefit likely.",
                   Recommendation="Approve with conditions")  # fmt: skip
    assessor2.close()

    decider = Person(browser, site, "decider")
    decider.page.get_by_role("link", name=request.reference).click()
    decider.take("Decide", Outcome="Approved with conditions", Reasons="The hospital-exemption criteria are met.",
                 Conditions="Report every administration within 7 days.", Password=DEMO_PASSWORD)  # fmt: skip
    decider.page.get_by_role("heading", name="Decision: Approved with conditions").wait_for()
    screenshot(decider.page, "story-4-decided")
    decider.close()

    request.refresh_from_db()
    assert request.state == "approved_with_conditions" and request.decision.follow_up_years == 15
