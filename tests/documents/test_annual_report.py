"""The annual hospital-exemption report (SPEC §6, issue 7): the figures of one hospital and one
year as the authority reads them in the PDF, no patient identity and no other hospital's data, the
survival image, the yearly issue on 31 January, and who may have which report."""

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from celery.schedules import crontab
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atmp_clinic.accounts.models import Organisation
from atmp_clinic.celery import app as celery_app
from atmp_clinic.documents import annual_report
from atmp_clinic.documents.models import DocumentKind, IssuedDocument
from atmp_clinic.documents.tasks import issue_annual_reports
from atmp_clinic.followup import services as followup_services
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.registry import services as registry_services
from atmp_clinic.registry.models import ExpeditedReport
from tests.documents.conftest import assert_a_proper_document, pdf_reader, pdf_text
from tests.exemptions.conftest import client_for, user
from tests.followup.conftest import enrolled_patient, plan_for
from tests.registry.test_services import SERIOUS_REACTION, adverse_event

pytestmark = pytest.mark.django_db

YEAR = 2025
EMAIL, PHONE = "noor.dewit.annual@example.org", "+31687654321"
LIFE_THREATENING = {"serious": True, "seriousness": ["life_threatening"], "relatedness": "definite"}
OTHER_HOSPITALS_TERM = "Zygomycosis of the other hospital"


@pytest.fixture(autouse=True)
def _demo(demo, document_media):
    """The demo's people and products; issued documents go to a temporary folder."""


def at_noon(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 12, tzinfo=UTC), tick=False)


def text_of(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", pdf_text(pdf))


@pytest.fixture
def treated() -> FollowUpPlan:
    """A patient of the demo's first hospital given the demo CAR-T on 3 March 2025, and the year's
    records: one visit in its window, one missed, one late; a grade-1 event; three serious
    reactions whose expedited reports (due within the Dutch 48 hours) were sent on time, sent late,
    and left open in December."""
    with at_noon(date(YEAR, 3, 3)):
        plan = plan_for(enrolled_patient(email=EMAIL, phone=PHONE))
    clinician = user("clinician")
    first, second, third = plan.visits.order_by("due_on")[:3]
    with at_noon(first.due_on):
        followup_services.visit_record(actor=clinician, visit=first, performed_on=first.due_on)
    with at_noon(third.window_closes_on):
        followup_services.visit_mark_missed(actor=clinician, visit=second, note="Did not come.")
    with at_noon(date(YEAR, 4, 20)):
        followup_services.visit_record(
            actor=clinician, visit=third, performed_on=date(YEAR, 4, 20), out_of_window_reason="Abroad."
        )
    with at_noon(date(YEAR, 4, 1)):
        adverse_event(plan, grade=1, term="Headache", onset_on=date(YEAR, 4, 1))
        on_time = adverse_event(
            plan, grade=3, term="Febrile neutropenia", onset_on=date(YEAR, 4, 1), **SERIOUS_REACTION
        )
    with at_noon(date(YEAR, 4, 2)):
        registry_services.expedited_report_submit(
            actor=clinician, report=on_time.expedited_report, narrative="Treated with antibiotics."
        )
    with at_noon(date(YEAR, 5, 2)):
        late = adverse_event(
            plan, grade=4, term="Cytokine storm", onset_on=date(YEAR, 5, 1), **LIFE_THREATENING
        )
    with at_noon(date(YEAR, 5, 30)):
        registry_services.expedited_report_submit(
            actor=clinician, report=late.expedited_report, narrative="Intensive care, recovered."
        )
    with at_noon(date(YEAR, 12, 20)):
        adverse_event(plan, grade=3, term="Pancytopenia", onset_on=date(YEAR, 12, 20), **SERIOUS_REACTION)
    return plan


def report_pdf(plan: FollowUpPlan, *, on: date = date(YEAR + 1, 1, 31)) -> bytes:
    with at_noon(on):
        return annual_report.build(plan.patient.hospital, YEAR).pdf


# --- The figures -----------------------------------------------------------------------------------


def test_it_is_a_proper_document(treated):
    hospital = treated.patient.hospital
    assert_a_proper_document(report_pdf(treated), title=annual_report.title(hospital, YEAR))


def test_it_counts_patients_and_administrations_by_product_and_class(treated):
    text = text_of(report_pdf(treated))
    assert "CD19 CAR-T cells Gene therapy medicinal product (GTMP) 1 1" in text
    assert "All products 1 1" in text
    assert "Gene therapy medicinal product (GTMP) 1 Somatic cell therapy medicinal product (sCTMP) 0" in text


def test_it_counts_the_visits_due_in_the_year_done_in_window_late_and_missed(treated):
    due = treated.visits.filter(due_on__year=YEAR).exclude(status=FollowUpVisit.Status.CANCELLED).count()
    text = text_of(report_pdf(treated))
    not_recorded = due - 3
    assert f"{due} 1 1 1 {not_recorded} {round(100 / due)} %" in text


def test_it_counts_adverse_events_by_grade_and_seriousness(treated):
    text = text_of(report_pdf(treated))
    assert (
        "Adverse events 4 Patients with an adverse event 1 Serious adverse events 3 Serious adverse reactions 3"
        in text
    )
    for row in ("Grade 1 1 1 0", "Grade 2 0 0 0", "Grade 3 2 1 2", "Grade 4 1 1 1", "Grade 5 0 0 0"):
        assert row in text
    assert "All grades 4 1 3" in text
    assert "Requires or prolongs hospitalisation 2" in text
    assert "Is life-threatening 1" in text


def test_it_shows_each_expedited_reports_timeliness(treated):
    text = text_of(report_pdf(treated))
    # opened, on time, late, open not yet due, open overdue (the December one was due on 4 January)
    assert "Open, overdue 3 1 1 0 1" in text
    assert "Febrile neutropenia 3 2025-04-01 2025-04-03 2025-04-02 On time" in text
    assert "Cytokine storm 4 2025-05-02 2025-05-04 2025-05-30 Late" in text
    assert "Pancytopenia 3 2025-12-20 2025-12-22 — Open, overdue" in text


def test_an_open_report_before_its_due_date_is_not_yet_due(treated):
    text = text_of(report_pdf(treated, on=date(YEAR, 12, 21)))
    assert "Open, overdue 3 1 1 1 0" in text


def test_it_holds_no_patient_identity(treated):
    text = text_of(report_pdf(treated))
    assert treated.patient.pseudonym in text
    for identity in ("Noor", "de Wit", EMAIL, PHONE):
        assert identity not in text


def test_it_has_the_survival_image(treated):
    images = [
        xobject.get_object()
        for page in pdf_reader(report_pdf(treated)).pages
        for xobject in page["/Resources"].get("/XObject", {}).values()
    ]
    assert any(image["/Subtype"] == "/Image" and image["/Width"] > 100 for image in images)


def test_it_holds_no_other_hospitals_data(treated):
    """Another hospital's serious reaction this year is in neither of the first hospital's reports."""
    other = FollowUpPlan.objects.get(patient__hospital=user("clinician_2").memberships.get().organisation)
    registry_services.adverse_event_record(
        actor=user("clinician_2"), plan=other, term=OTHER_HOSPITALS_TERM, onset_on=other.starts_on, grade=3,
        outcome="recovering", **SERIOUS_REACTION,
    )  # fmt: skip
    hospital = treated.patient.hospital
    for year in (YEAR, other.starts_on.year):
        text = text_of(annual_report.build(hospital, year).pdf)
        for foreign in (OTHER_HOSPITALS_TERM, other.patient.pseudonym, other.patient.hospital.name):
            assert foreign not in text
    this_year = annual_report.annual_report(
        hospital=hospital, year=other.starts_on.year, today=other.starts_on
    )
    assert (
        this_year.expedited.total
        == ExpeditedReport.objects.filter(hospital=hospital, opened_at__year=other.starts_on.year).count()
    )


def queries_for_the_figures(hospital: Organisation) -> int:
    with CaptureQueriesContext(connection) as queries:
        annual_report.annual_report(hospital=hospital, year=YEAR, today=date(YEAR + 1, 1, 31))
    return len(queries)


def test_the_figures_cost_the_same_queries_however_many_records(treated):
    hospital = treated.patient.hospital
    before = queries_for_the_figures(hospital)
    with at_noon(date(YEAR, 6, 2)):
        for term in ("Sepsis", "Encephalopathy"):
            adverse_event(treated, grade=3, term=term, onset_on=date(YEAR, 6, 2), **SERIOUS_REACTION)
    assert queries_for_the_figures(hospital) == before


# --- Issued on 31 January --------------------------------------------------------------------------


def annual_reports_of(year: int):
    return IssuedDocument.objects.filter(kind=DocumentKind.ANNUAL_REPORT, title__contains=f" {year} — ")


def test_the_beat_runs_the_task_on_31_january():
    entry = celery_app.conf.beat_schedule["issue-annual-reports"]
    assert entry["task"] == issue_annual_reports.name
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert (schedule.month_of_year, schedule.day_of_month) == ({1}, {31})


def test_on_31_january_each_hospital_that_treated_patients_gets_one_report_for_the_last_year(treated):
    with time_machine.travel(datetime(YEAR + 1, 1, 31, 2, tzinfo=UTC), tick=False):
        issue_annual_reports.delay()
        issue_annual_reports.delay()
    issued = annual_reports_of(YEAR)
    assert [(document.object_id, document.issued_by) for document in issued] == [
        (treated.patient.hospital_id, None)
    ]


def test_every_hospital_with_patients_followed_gets_its_report_once():
    year = FollowUpPlan.objects.latest("starts_on").starts_on.year
    hospitals = set(
        FollowUpPlan.objects.filter(starts_on__year=year).values_list("patient__hospital", flat=True)
    )
    assert len(hospitals) > 1
    with time_machine.travel(datetime(year + 1, 1, 31, 2, tzinfo=UTC), tick=False):
        assert set(issue_annual_reports()) == hospitals
        assert issue_annual_reports() == []
    assert sorted(annual_reports_of(year).values_list("object_id", flat=True)) == sorted(hospitals)


# --- Who may have it ---------------------------------------------------------------------------------


def first_hospital() -> Organisation:
    return user("pharmacist").memberships.get().organisation


@pytest.mark.parametrize("username", ["patient", "analyst", "admin"])
def test_the_list_page_does_not_exist_for_those_without_reports(username):
    assert client_for(username).get(reverse("annual-reports")).status_code == 404


def test_the_list_page_shows_the_issued_reports_of_ones_own_hospitals_only(treated):
    with time_machine.travel(datetime(YEAR + 1, 1, 31, 2, tzinfo=UTC), tick=False):
        issue_annual_reports()
    document = annual_reports_of(YEAR).get()
    link = reverse("issued-annual-report", kwargs={"document_pk": document.pk})
    for username in ("reviewer", "clinician"):
        page = client_for(username).get(reverse("annual-reports")).content.decode()
        assert link in page
        download = client_for(username).get(link)
        assert b"".join(download.streaming_content) == document.file.open("rb").read()
    for username in ("reviewer_b", "clinician_2"):
        page = client_for(username).get(reverse("annual-reports")).content.decode()
        assert link not in page and first_hospital().name not in page
        assert client_for(username).get(link).status_code == 404


def test_home_pages_link_to_the_reports():
    for username in ("reviewer", "pharmacist", "clinician"):
        assert reverse("annual-reports") in client_for(username).get(reverse("home")).content.decode()
