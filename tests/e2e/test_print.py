"""Every record page prints as a record (issue 10): on paper, no navigation, forms, buttons or
language switcher, the record itself, and who printed it when. The list of record pages is checked
against the templates, so a new record page must be printed here too."""

import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.e2e.conftest import ARTIFACTS, Person
from tests.followup.conftest import enrolled_patient, plan_for
from tests.registry.test_services import SERIOUS_REACTION, adverse_event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Record pages that are not named *_detail.html.
OTHER_RECORD_PAGES = {"audit/record_trail.html", "manufacturing/traceability.html"}

# Each record page, and the address of one record of the chain built below.
RECORD_PAGES = {
    "exemptions/request_detail.html": lambda r: f"/requests/{r['request'].pk}/",
    "patients/patient_detail.html": lambda r: f"/patients/{r['patient'].pk}/",
    "products/product_detail.html": lambda r: f"/products/{r['request'].product_id}/",
    "manufacturing/batch_detail.html": lambda r: f"/batches/{r['batch'].pk}/",
    "manufacturing/traceability.html": lambda r: f"/patients/{r['patient'].pk}/traceability/",
    "followup/plan_detail.html": lambda r: f"/plans/{r['plan'].pk}/",
    "followup/visit_detail.html": lambda r: f"/visits/{r['visit'].pk}/",
    "registry/adverse_event_detail.html": lambda r: f"/adverse-events/{r['event'].pk}/",
    "registry/expedited_report_detail.html": lambda r: (
        f"/expedited-reports/{r['event'].expedited_report.pk}/"
    ),
    "accounts/organisation_detail.html": lambda r: f"/organisations/{r['patient'].hospital_id}/",
    "audit/record_trail.html": lambda r: f"/audit/exemptions.exemptionrequest/{r['request'].pk}/",
}
# What a printout must not show: the navigation, the account links and the language switcher.
NAVIGATION_TEXT = ("Worklist", "Log out", "Change password", "API tokens", "Deutsch", "Español", "Français")
# Elements that act rather than inform, which print.css hides, and any still shown on paper.
SHOWN_CONTROLS = """() => [...document.querySelectorAll('nav, form, button, .language-switcher, .site-header')]
    .filter(element => element.checkVisibility()).map(element => element.outerHTML.slice(0, 80))"""


def records() -> dict:
    """One chain, built through the services: a patient given the demo CAR-T, their plan, its first
    visit and a serious adverse reaction with its expedited report. Printed by the hospital's clinician."""
    plan = plan_for(enrolled_patient())
    administration = plan.administration
    return {
        "plan": plan,
        "patient": plan.patient,
        "request": administration.request,
        "batch": administration.batch,
        "visit": plan.visits.order_by("due_on").first(),
        "event": adverse_event(plan, **SERIOUS_REACTION, term="Sepsis"),
    }


def test_every_record_page_template_is_printed_here():
    found = {str(path.relative_to(TEMPLATES)) for path in TEMPLATES.glob("*/*_detail.html")}
    assert found | OTHER_RECORD_PAGES == set(RECORD_PAGES)


@pytest.mark.parametrize("template", sorted(RECORD_PAGES))
def test_every_record_page_extends_the_base_that_links_the_print_stylesheet(template):
    assert (TEMPLATES / template).read_text().startswith('{% extends "base.html" %}')


def test_every_record_page_prints_its_record_without_what_acts_on_it(site, browser):
    built = records()
    clinician = Person(browser, site, "clinician")
    page = clinician.page
    page.emulate_media(media="print")
    problems = []
    for template, address in RECORD_PAGES.items():
        response = page.goto(site + address(built))
        if response.status != 200:
            problems.append(f"{template}: HTTP {response.status}")
            continue
        if shown := page.evaluate(SHOWN_CONTROLS):
            problems.append(f"{template}: shown on paper: {shown}")
        if not page.get_by_role("heading", level=1).is_visible():
            problems.append(f"{template}: the record's heading is not printed")
        if not page.get_by_text("Printed by Pieter Jansen").is_visible():
            problems.append(f"{template}: who printed it is not printed")
        rows = page.locator("main tr")
        if rows.count() and rows.first.evaluate("row => getComputedStyle(row).breakInside") != "avoid":
            problems.append(f"{template}: table rows break across pages")
    clinician.close()
    assert problems == []


def test_who_printed_a_record_is_shown_only_on_paper(site, browser):
    built = records()
    clinician = Person(browser, site, "clinician")
    clinician.page.goto(site + RECORD_PAGES["followup/plan_detail.html"](built))
    on_screen = clinician.page.get_by_text("Printed by Pieter Jansen").is_visible()
    clinician.close()
    assert not on_screen


def test_a_printed_request_has_the_record_and_no_navigation(site, browser):
    built = records()
    clinician = Person(browser, site, "clinician")
    clinician.page.goto(site + RECORD_PAGES["exemptions/request_detail.html"](built))
    clinician.page.emulate_media(media="print")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "print-request-detail.pdf"  # kept beside the screenshots, to look at
    pdf.write_bytes(clinician.page.pdf(format="A4"))
    clinician.close()
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    request = built["request"]
    assert request.reference in text and request.patient.pseudonym in text
    assert "Printed by Pieter Jansen" in text
    assert [word for word in NAVIGATION_TEXT if word in text] == []
