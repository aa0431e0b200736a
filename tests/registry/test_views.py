"""The registry's pages: a visit's outcome, adverse events with their ASTCT grading, expedited
reports, and the includes the visit and plan pages and the worklists show; with who sees what."""

from datetime import timedelta

import pytest
import time_machine
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from atmp_clinic.followup import services as followup_services
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.registry import views
from atmp_clinic.registry.forms import OutcomeForm
from atmp_clinic.registry.grading import CrsCriteria
from atmp_clinic.registry.models import AdverseEvent, ExpeditedReport, OutcomeRecord, Section
from atmp_clinic.registry.selectors import expedited_report_queue
from atmp_clinic.registry.services import expedited_report_submit
from tests.exemptions.conftest import client_for, user
from tests.followup.conftest import enrolled_patient, plan_for
from tests.registry.test_services import SERIOUS_REACTION, adverse_event, collecting, noon

pytestmark = pytest.mark.django_db

OUTSIDERS = ["pharmacist_b", "clinician_2", "clinician_b", "reviewer_b", "analyst", "patient"]
AUTHORITY = ["reviewer", "decider"]


@pytest.fixture(autouse=True)
def _demo(demo):
    """The demo's people and products (seeded again after a test that emptied the database)."""


@pytest.fixture
def plan() -> FollowUpPlan:
    return plan_for(enrolled_patient())


@pytest.fixture
def visit(plan) -> FollowUpVisit:
    """The plan's day-7 visit, recorded as done on its due date; the test runs on that day."""
    visit = plan.visits.order_by("due_on").first()
    with noon(visit.due_on):
        followup_services.visit_record(actor=user("clinician"), visit=visit, performed_on=visit.due_on)
        visit.refresh_from_db()
        yield visit


def request_of(username: str):
    request = RequestFactory().get("/")
    request.user = user(username)
    return request


def crs_post(**changes) -> dict:
    """A grade-3 CRS (fever, hypotension on one vasopressor), possibly related, as the form posts it."""
    return {
        "term": "Cytokine release syndrome", "kind": "crs", "onset_on": str(timezone.localdate()),
        "crs_fever": "on", "crs_hypotension": "on", "crs_vasopressors": "one", "crs_oxygen": "none",
        "icans_consciousness": "alert", "icans_seizure": "none", "icans_motor": "none",
        "icans_raised_icp": "none", "relatedness": "possible", "outcome": "recovering",
    } | changes  # fmt: skip


@pytest.fixture
def event(visit) -> AdverseEvent:
    """A serious adverse reaction of special interest: it opened an expedited report."""
    return adverse_event(
        visit.plan, **SERIOUS_REACTION, special_interest=["serious_infection"], term="Sepsis"
    )


@pytest.fixture
def report(event) -> ExpeditedReport:
    return event.expedited_report


def submitted(report) -> ExpeditedReport:
    return expedited_report_submit(actor=user("clinician"), report=report, narrative="Sepsis on day 7.")


# --- Outcome of a visit ----------------------------------------------------------------------------


def test_the_outcome_form_asks_only_for_what_the_visit_collects(visit):
    fields = set(OutcomeForm(visit=visit).fields)
    assert {"vital_status", "disease_response", "ecog", "vector_copy_number", "b_cell_aplasia"} <= fields
    assert not fields & {"eq5d_mobility", "eq5d_vas", "replication_competent_vector"}


def test_the_outcome_form_asks_eq5d5l_in_its_own_words_where_the_visit_collects_it(visit):
    visit = collecting(visit, Section.QUALITY_OF_LIFE)
    context = views.visit_outcome_context(request_of("clinician"), visit)
    html = render_to_string("registry/_visit_outcome.html", {"visit": visit, **context})
    assert "1 — I have no problems in walking about" in html and "5 — I am unable to walk about" in html
    assert "I am extremely anxious or depressed" in html and 'name="eq5d_vas"' in html
    assert "5 — Dead" in html  # ECOG, with its short descriptions


def test_the_visit_include_gives_the_form_to_the_clinician_only(visit):
    for who, shown in (("clinician", True), ("pharmacist", False), ("reviewer", False)):
        context = views.visit_outcome_context(request_of(who), visit)
        html = render_to_string("registry/_visit_outcome.html", {"visit": visit, **context})
        assert ("Record the outcome" in html) is shown, who


def test_a_clinician_records_the_outcome_and_the_visit_include_shows_it(visit):
    response = client_for("clinician").post(
        reverse("visit-outcome", args=[visit.pk]),
        {"vital_status": "alive", "disease_response": "CR", "ecog": "1", "b_cell_aplasia": "true"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("visit-detail", args=[visit.pk])
    outcome = OutcomeRecord.objects.get(visit=visit)
    assert (outcome.ecog, outcome.b_cell_aplasia, outcome.igg_g_per_l) == (1, True, None)
    context = views.visit_outcome_context(request_of("reviewer"), visit)
    html = render_to_string("registry/_visit_outcome.html", {"visit": visit, **context})
    assert "Complete response (CR)" in html and "Record the outcome" not in html


@pytest.mark.parametrize("who", ["pharmacist", "reviewer", *OUTSIDERS])
def test_only_the_hospitals_clinicians_post_an_outcome(visit, who):
    response = client_for(who).post(reverse("visit-outcome", args=[visit.pk]), {"vital_status": "alive"})
    assert response.status_code == 404
    assert not OutcomeRecord.objects.filter(visit=visit).exists()


def test_a_refused_outcome_keeps_what_was_typed(visit):
    response = client_for("clinician").post(
        reverse("visit-outcome", args=[visit.pk]),
        {"vital_status": "dead", "cause_of_death": "Septic shock", "ecog": "4"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Give the date of death." in html and 'value="Septic shock"' in html
    assert '<option value="dead" selected>' in html and '<option value="4" selected>' in html
    assert not OutcomeRecord.objects.filter(visit=visit).exists()


def test_an_outcome_is_not_recorded_twice(visit):
    client = client_for("clinician")
    client.post(reverse("visit-outcome", args=[visit.pk]), {"vital_status": "alive"})
    again = client.post(reverse("visit-outcome", args=[visit.pk]), {"vital_status": "dead"})
    assert again.status_code == 302
    assert OutcomeRecord.objects.get(visit=visit).vital_status == "alive"


# --- Adverse events --------------------------------------------------------------------------------


def test_the_adverse_event_form_asks_the_astct_criteria_in_fieldsets(visit):
    response = client_for("clinician").get(reverse("adverse-event-new", args=[visit.plan.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Cytokine release syndrome: ASTCT criteria" in html and "ICANS: ASTCT criteria" in html
    assert "One vasopressor, with or without vasopressin" in html  # grading's labels, capitalised
    assert 'name="seriousness" value="life_threatening"' in html and 'name="special_interest"' in html
    assert "<script" not in html


def test_a_visit_page_leads_its_clinicians_to_report_an_adverse_event_at_that_visit(visit):
    # The new user found the form only under the plan's visits, not on the visit it happened at.
    link = f"{reverse('adverse-event-new', args=[visit.plan.pk])}?visit={visit.pk}"
    assert link in client_for("clinician").get(reverse("visit-detail", args=[visit.pk])).content.decode()
    assert link not in client_for("reviewer").get(reverse("visit-detail", args=[visit.pk])).content.decode()
    form = client_for("clinician").get(link).content.decode()
    assert f'<option value="{visit.pk}" selected>' in form


@pytest.mark.parametrize("who", ["pharmacist", "reviewer", *OUTSIDERS])
def test_only_the_hospitals_clinicians_record_adverse_events(visit, who):
    client = client_for(who)
    url = reverse("adverse-event-new", args=[visit.plan.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, crs_post()).status_code == 404
    assert not AdverseEvent.objects.filter(plan=visit.plan).exists()


def test_a_crs_is_graded_from_the_form_and_its_page_shows_how(visit):
    client = client_for("clinician")
    response = client.post(reverse("adverse-event-new", args=[visit.plan.pk]), crs_post())
    event = AdverseEvent.objects.get(plan=visit.plan)
    assert response.status_code == 302 and response["Location"] == reverse(
        "adverse-event-detail", args=[event.pk]
    )
    assert (event.kind, event.grade) == ("crs", 3)
    html = client.get(response["Location"]).content.decode()
    assert "Hypotension needing one vasopressor, with or without vasopressin: grade 3." in html
    assert "Grade is that of the hypotension: grade 3." in html
    assert "One vasopressor, with or without vasopressin" in html


def test_criteria_that_are_not_crs_are_refused_with_the_reason_and_what_was_typed_stays(visit):
    response = client_for("clinician").post(
        reverse("adverse-event-new", args=[visit.plan.pk]),
        crs_post(crs_fever="", term="Suspected CRS", crs_oxygen="facemask"),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "No fever ≥ 38.0 °C" in html and 'value="Suspected CRS"' in html
    assert '<option value="facemask" selected>' in html
    assert not AdverseEvent.objects.filter(plan=visit.plan).exists()


def test_inconsistent_criteria_are_a_form_error(visit):
    response = client_for("clinician").post(
        reverse("adverse-event-new", args=[visit.plan.pk]), crs_post(crs_hypotension="")
    )
    assert response.status_code == 400
    assert "Vasopressors are recorded without hypotension" in response.content.decode()


def test_an_icans_needs_an_ice_score_unless_the_patient_is_unarousable(visit):
    client = client_for("clinician")
    url = reverse("adverse-event-new", args=[visit.plan.pk])
    refused = client.post(url, crs_post(kind="icans", term="ICANS", icans_consciousness="awakens_to_voice"))
    assert (
        refused.status_code == 400
        and "an awake patient who cannot answer scores 0" in refused.content.decode()
    )
    done = client.post(
        url, crs_post(kind="icans", term="ICANS", icans_consciousness="awakens_to_voice", icans_ice_score="5")
    )
    assert done.status_code == 302 and AdverseEvent.objects.get(plan=visit.plan).grade == 2


def test_a_general_event_needs_its_ctcae_grade(visit):
    client = client_for("clinician")
    url = reverse("adverse-event-new", args=[visit.plan.pk])
    refused = client.post(url, crs_post(kind="general", term="Neutropenia"))
    assert refused.status_code == 400 and "Give the CTCAE grade, 1 to 5." in refused.content.decode()
    refused = client.post(url, crs_post(kind="general", term="Neutropenia", grade="5"))
    assert refused.status_code == 400 and "the outcome must be fatal" in refused.content.decode()


def test_a_serious_reaction_from_the_form_opens_its_report(visit):
    response = client_for("clinician").post(
        reverse("adverse-event-new", args=[visit.plan.pk]),
        crs_post(serious="on", seriousness=["hospitalisation"], special_interest=["neurological"]),
    )
    event = AdverseEvent.objects.get(plan=visit.plan)
    assert response.status_code == 302
    assert (event.seriousness, event.special_interest) == (["hospitalisation"], ["neurological"])
    assert event.expedited_report.status == "open"


@pytest.mark.parametrize("who", ["clinician", "pharmacist", *AUTHORITY])
def test_the_hospital_and_its_authority_see_the_adverse_event(event, who):
    html = client_for(who).get(reverse("adverse-event-detail", args=[event.pk])).content.decode()
    assert "Sepsis" in html and "Serious infection" in html
    assert "Adverse event recorded" in html  # the audit trail


@pytest.mark.parametrize("who", OUTSIDERS)
def test_others_get_404_for_the_adverse_event(event, who):
    response = client_for(who).get(reverse("adverse-event-detail", args=[event.pk]))
    assert response.status_code == 404 and b"Sepsis" not in response.content


def test_the_plan_include_lists_adverse_events_with_their_flags(event):
    plan = event.plan
    context = views.plan_adverse_events_context(request_of("clinician"), plan)
    html = render_to_string("registry/_plan_adverse_events.html", {"plan": plan, **context})
    assert reverse("adverse-event-detail", args=[event.pk]) in html
    assert "Serious</strong>: requires or prolongs hospitalisation" in html and "Serious infection" in html
    assert reverse("adverse-event-new", args=[plan.pk]) in html
    reader = views.plan_adverse_events_context(request_of("reviewer"), plan)
    html = render_to_string("registry/_plan_adverse_events.html", {"plan": plan, **reader})
    assert "Sepsis" in html and reverse("adverse-event-new", args=[plan.pk]) not in html


def test_the_plan_include_shows_nothing_to_others(event):
    context = views.plan_adverse_events_context(request_of("clinician_b"), event.plan)
    assert context == {"adverse_events": [], "may_record_adverse_event": False}


# --- Expedited reports -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["clinician", "pharmacist"])
def test_the_hospital_sees_its_open_report_with_its_due_date(report, who):
    html = client_for(who).get(reverse("expedited-report-detail", args=[report.pk])).content.decode()
    assert "To be submitted" in html and report.due_on.strftime("%-d %b %Y") in html
    assert "Submit the report" in html and "Expedited report opened" in html


@pytest.mark.parametrize("who", [*AUTHORITY, *OUTSIDERS])
def test_an_open_report_is_404_to_the_authority_and_to_others(report, who):
    client = client_for(who)
    response = client.get(reverse("expedited-report-detail", args=[report.pk]))
    assert response.status_code == 404 and b"Sepsis" not in response.content
    post = client.post(reverse("expedited-report-submit", args=[report.pk]), {"narrative": "Fever."})
    assert post.status_code == 404


@pytest.mark.parametrize("who", AUTHORITY)
def test_the_authority_sees_the_event_but_not_its_open_report(report, who):
    html = (
        client_for(who).get(reverse("adverse-event-detail", args=[report.adverse_event_id])).content.decode()
    )
    assert "Sepsis" in html and reverse("expedited-report-detail", args=[report.pk]) not in html


@pytest.mark.parametrize("who", AUTHORITY)
def test_the_authority_sees_a_submitted_report(report, who):
    submitted(report)
    client = client_for(who)
    html = client.get(reverse("expedited-report-detail", args=[report.pk])).content.decode()
    assert "Sepsis on day 7." in html and "Acknowledge the report" in html
    event_page = client.get(reverse("adverse-event-detail", args=[report.adverse_event_id])).content.decode()
    assert reverse("expedited-report-detail", args=[report.pk]) in event_page


@pytest.mark.parametrize("who", OUTSIDERS)
def test_a_submitted_report_stays_404_to_others(report, who):
    submitted(report)
    client = client_for(who)
    assert client.get(reverse("expedited-report-detail", args=[report.pk])).status_code == 404
    assert client.post(reverse("expedited-report-acknowledge", args=[report.pk])).status_code == 404
    report.refresh_from_db()
    assert report.status == "submitted"


def test_the_pharmacist_submits_and_the_reviewer_acknowledges_from_the_report_page(report):
    url = reverse("expedited-report-detail", args=[report.pk])
    response = client_for("pharmacist").post(
        reverse("expedited-report-submit", args=[report.pk]), {"narrative": "Sepsis on day 7, treated."}
    )
    assert response.status_code == 302 and response["Location"] == url
    response = client_for("reviewer").post(reverse("expedited-report-acknowledge", args=[report.pk]))
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.submitted_by, report.acknowledged_by) == (
        "acknowledged", user("pharmacist"), user("reviewer"),
    )  # fmt: skip
    html = client_for("clinician").get(url).content.decode()
    assert "Expedited report acknowledged" in html and "Submit the report" not in html


def test_a_report_without_a_narrative_is_refused_on_its_page(report):
    response = client_for("clinician").post(
        reverse("expedited-report-submit", args=[report.pk]), {"narrative": "   "}
    )
    assert response.status_code == 400 and "Submit the report" in response.content.decode()
    report.refresh_from_db()
    assert report.status == "open"


def test_the_hospital_cannot_acknowledge_its_own_report(report):
    submitted(report)
    response = client_for("clinician").post(reverse("expedited-report-acknowledge", args=[report.pk]))
    assert response.status_code == 404
    report.refresh_from_db()
    assert report.status == "submitted"


def test_an_overdue_report_stands_out_on_its_page_and_in_the_worklist(report):
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        html = (
            client_for("clinician").get(reverse("expedited-report-detail", args=[report.pk])).content.decode()
        )
        queue = render_to_string(
            "registry/_report_queue.html", {"report_queue": expedited_report_queue(user=user("clinician"))}
        )
    assert "Overdue" in html
    assert 'class="overdue"' in queue and "overdue</strong>" in queue
    assert report.adverse_event.patient.pseudonym in queue and "Sepsis" in queue


def test_the_worklist_queue_shows_each_side_what_it_owes(report):
    def queue_of(who):
        return render_to_string(
            "registry/_report_queue.html", {"report_queue": expedited_report_queue(user=user(who))}
        )

    link = reverse("expedited-report-detail", args=[report.pk])
    assert link in queue_of("clinician") and 'class="overdue"' not in queue_of("clinician")
    assert link not in queue_of("reviewer") and "No expedited report is waiting." in queue_of("reviewer")
    submitted(report)
    assert link in queue_of("reviewer") and link not in queue_of("clinician")
    assert link not in queue_of("clinician_b") and link not in queue_of("reviewer_b")


# --- ASTCT grading in the reader's language -------------------------------------------------------


def test_a_crs_recorded_in_german_reads_in_german_and_is_stored_in_english(visit):
    client = client_for("clinician")
    response = client.post(
        reverse("adverse-event-new", args=[visit.plan.pk]), crs_post(), HTTP_ACCEPT_LANGUAGE="de"
    )
    event = AdverseEvent.objects.get(plan=visit.plan)
    html = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert event.grading_reasons[-1] == "Grade is that of the hypotension: grade 3."
    assert (
        "Hypotonie mit Bedarf an Vasopressoren (ein Vasopressor, mit oder ohne Vasopressin): Grad 3." in html
    )
    assert "Der Grad ergibt sich aus der Hypotonie: Grad 3." in html
    assert "Ein Vasopressor, mit oder ohne Vasopressin" in html  # the criterion's finding, capitalised


def test_reasons_stored_in_other_words_are_shown_as_recorded(visit):
    event = adverse_event(
        visit.plan, kind="crs", crs=CrsCriteria(fever=True, hypotension=True, vasopressors="one"),
        term="Cytokine release syndrome",
    )  # fmt: skip
    AdverseEvent.objects.filter(pk=event.pk).update(
        grading_reasons=["Graded by an earlier wording: grade 3."]
    )
    html = (
        client_for("clinician")
        .get(reverse("adverse-event-detail", args=[event.pk]), HTTP_ACCEPT_LANGUAGE="de")
        .content.decode()
    )
    assert "Graded by an earlier wording: grade 3." in html and "Der Grad ergibt sich" not in html


def test_the_adverse_event_form_in_french_offers_the_criteria_in_french(visit):
    html = (
        client_for("clinician")
        .get(reverse("adverse-event-new", args=[visit.plan.pk]), HTTP_ACCEPT_LANGUAGE="fr")
        .content.decode()
    )
    assert '<option value="facemask">Masque facial</option>' in html
    assert '<option value="none" selected>Néant</option>' in html  # a finding's "none"
    assert '<option value="none" selected>Aucun</option>' in html  # a treatment's
