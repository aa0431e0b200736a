"""Issue 6's story in a real browser: at the Day 7 visit the clinician records a grade 3 CRS, graded
from the ASTCT criteria; the expedited report it opens is submitted by the hospital and appears in
the authority's worklist, where it is acknowledged; the analyst exports the adverse events and
finds it there. The server's clock moves with time-machine; each person logs in on the day they
act."""

from datetime import UTC, datetime, time
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from atmp_clinic.accounts.models import User
from atmp_clinic.followup.services import visit_record
from atmp_clinic.patients import services as patient_services
from atmp_clinic.patients.models import ConsentKind
from tests.e2e.conftest import Person, screenshot
from tests.followup.conftest import enrolled_patient, plan_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_grade_3_crs_reaches_the_authority_and_the_registry_export(site, browser):
    plan = plan_for(enrolled_patient())
    clinician_user = User.objects.get(username="clinician")
    patient_services.consent_give(
        actor=clinician_user, patient=plan.patient, kind=ConsentKind.REGISTRY, given_on=timezone.localdate()
    )
    day_7 = plan.visits.order_by("due_on").first()

    with time_machine.travel(datetime.combine(day_7.due_on, time(10), tzinfo=UTC), tick=True):
        visit_record(actor=clinician_user, visit=day_7, performed_on=day_7.due_on)
        clinician = Person(browser, site, "clinician")
        page = clinician.page
        page.goto(f"{site}/plans/{plan.pk}/")
        page.get_by_role("link", name="Record an adverse event").click()
        page.get_by_label("Term").fill("Cytokine release syndrome")
        page.get_by_label("Cytokine release syndrome (ASTCT)").check()
        page.get_by_label("Onset").fill(day_7.due_on.isoformat())
        page.get_by_label("Fever ≥ 38.0 °C attributable to CRS").check()
        page.get_by_label("Hypotension").check()
        page.get_by_label("Vasopressors").select_option(value="one")
        page.get_by_label("Serious adverse event").check()
        page.get_by_label("Requires or prolongs hospitalisation").check()
        page.get_by_label("Relatedness to the product").select_option(label="Probable")
        page.get_by_label("Outcome", exact=True).select_option(label="Recovering")
        page.get_by_role("button", name="Record the adverse event").click()
        page.get_by_role("heading", name="ASTCT grading").wait_for()
        grading = page.locator("section", has=page.get_by_role("heading", name="ASTCT grading")).inner_text()
        screenshot(page, "registry-1-crs-graded")
        page.get_by_role("link", name="Report to").click()
        page.get_by_label("Narrative").fill(
            "Grade 3 CRS on day 7, one vasopressor; tocilizumab given; recovering."
        )
        page.get_by_role("button", name="Submit the report").click()
        page.get_by_text("The expedited report is submitted to the authority.").wait_for()
        clinician.close()

        reviewer = Person(browser, site, "reviewer")
        queue = reviewer.page.locator("section", has=reviewer.page.get_by_role("heading", name="Expedited"))
        queue.get_by_role("link", name=plan.patient.pseudonym).click()
        reviewer.page.get_by_role("button", name="Acknowledge the report").click()
        reviewer.page.get_by_text("The expedited report is acknowledged.").wait_for()
        screenshot(reviewer.page, "registry-2-report-acknowledged")
        reviewer.close()

        analyst = Person(browser, site, "analyst")
        analyst.page.get_by_role("link", name="Exports").first.click()
        analyst.page.get_by_label("Adverse events (CSV)").check()
        analyst.page.get_by_role("button", name="Start the export").click()
        with analyst.page.expect_download() as download:
            analyst.page.get_by_role("link", name="Download").first.click()
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        screenshot(analyst.page, "registry-3-export")
        analyst.close()

    assert "grade 3" in grading.lower()
    rows = [line for line in exported.splitlines() if line.startswith(plan.patient.pseudonym)]
    assert len(rows) == 1 and ",crs,Cytokine release syndrome," in rows[0] and ",3," in rows[0]
    assert plan.patient.identity.family_name not in exported
