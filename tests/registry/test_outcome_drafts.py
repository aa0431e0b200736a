"""The outcome form of a visit shows how far it is, section by section, and can be kept as a draft:
only what cannot be read stops the save, and a draft is not an outcome, so the registry and its
exports never see it. Recording checks everything, as before."""

import pytest
from django.urls import reverse

from atmp_clinic.audit.models import AuditEvent
from atmp_clinic.followup import services as followup_services
from atmp_clinic.followup.models import FollowUpVisit, VisitDraft
from atmp_clinic.patients.models import ConsentKind
from atmp_clinic.registry.models import OutcomeRecord, Section
from atmp_clinic.registry.selectors import outcome_progress
from tests.exemptions.conftest import client_for, user
from tests.followup.conftest import enrolled_patient, plan_for
from tests.registry.test_exports import pseudonyms
from tests.registry.test_services import collecting, noon

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo(demo):
    """The demo's people and products (seeded again after a test that emptied the database)."""


@pytest.fixture
def visit() -> FollowUpVisit:
    """The day-7 visit of a patient in the registry, done on its due date; the test runs that day.
    It collects the vital status, disease response, ECOG and laboratory results."""
    plan = plan_for(enrolled_patient(consents=(ConsentKind.REGISTRY,)))
    visit = plan.visits.order_by("due_on").first()
    with noon(visit.due_on):
        followup_services.visit_record(actor=user("clinician"), visit=visit, performed_on=visit.due_on)
        visit.refresh_from_db()
        yield visit


def save_draft(client, visit, data):
    return client.post(reverse("visit-outcome-draft", args=[visit.pk]), data)


def visit_page(client, visit) -> str:
    return client.get(reverse("visit-detail", args=[visit.pk])).content.decode()


def test_the_form_says_how_many_sections_are_complete_and_which_are_not(visit):
    save_draft(client_for("clinician"), visit, {"vital_status": "alive", "ecog": "1"})
    html = visit_page(client_for("clinician"), visit)
    assert "2 of 4 sections complete" in html
    assert "Still to complete: Disease response, Laboratory results" in html


def test_a_new_outcome_form_has_no_section_complete(visit):
    assert "0 of 4 sections complete" in visit_page(client_for("clinician"), visit)


def test_a_draft_comes_back_as_left_in_another_session(visit):
    save_draft(client_for("clinician"), visit, {"disease_response": "CR", "vector_copy_number": "0.250"})
    html = visit_page(client_for("clinician"), visit)
    assert '<option value="CR" selected>' in html and 'value="0.250"' in html


def test_a_draft_may_lack_what_recording_needs(visit):
    response = save_draft(client_for("clinician"), visit, {"ecog": "2"})  # no vital status
    assert response.status_code == 302
    assert VisitDraft.objects.get(visit=visit).data["ecog"] == 2


def test_a_number_that_is_not_a_number_stops_the_draft(visit):
    response = save_draft(client_for("clinician"), visit, {"vector_copy_number": "lots"})
    assert response.status_code == 400
    assert not VisitDraft.objects.exists()


def test_recording_still_needs_the_vital_status(visit):
    client = client_for("clinician")
    save_draft(client, visit, {"ecog": "2"})
    response = client.post(reverse("visit-outcome", args=[visit.pk]), {"ecog": "2"})
    assert response.status_code == 400 and "Say whether the patient is alive." in response.content.decode()
    assert not OutcomeRecord.objects.filter(visit=visit).exists()


def test_a_draft_is_neither_an_outcome_nor_audited(visit):
    before = AuditEvent.objects.count()
    save_draft(client_for("clinician"), visit, {"vital_status": "dead", "date_of_death": str(visit.due_on)})
    assert not OutcomeRecord.objects.filter(visit=visit).exists()
    assert AuditEvent.objects.count() == before
    visit.plan.patient.refresh_from_db()
    assert visit.plan.patient.date_of_death is None


def test_a_draft_is_not_exported(visit):
    save_draft(client_for("clinician"), visit, {"vital_status": "alive", "ecog": "1"})
    assert visit.plan.patient.pseudonym not in pseudonyms("outcomes")


def test_recording_the_outcome_discards_the_draft(visit):
    client = client_for("clinician")
    save_draft(client, visit, {"ecog": "1"})
    client.post(reverse("visit-outcome", args=[visit.pk]), {"vital_status": "alive", "ecog": "1"})
    assert OutcomeRecord.objects.filter(visit=visit).exists()
    assert not VisitDraft.objects.filter(visit=visit).exists()


@pytest.mark.parametrize("who", ["clinician_2", "clinician_b", "pharmacist", "reviewer", "analyst"])
def test_only_the_hospitals_clinicians_save_an_outcome_draft(visit, who):
    assert save_draft(client_for(who), visit, {"ecog": "1"}).status_code == 404
    assert not VisitDraft.objects.exists()


@pytest.mark.parametrize("who", ["pharmacist", "reviewer"])
def test_those_who_read_the_visit_do_not_see_the_clinicians_draft(visit, who):
    save_draft(client_for("clinician"), visit, {"cause_of_death": "", "disease_response": "PD"})
    assert '<option value="PD" selected>' not in visit_page(client_for(who), visit)


def test_quality_of_life_is_complete_only_with_every_answer_and_the_vas(visit):
    visit = collecting(visit, Section.QUALITY_OF_LIFE)
    answers = {f"eq5d_{name}": 1 for name in ("mobility", "self_care", "usual_activities", "pain_discomfort",
                                               "anxiety_depression")}  # fmt: skip
    without_vas = outcome_progress(visit=visit, values=answers)
    with_vas = outcome_progress(visit=visit, values={**answers, "eq5d_vas": 80})
    assert (
        without_vas.is_complete(Section.QUALITY_OF_LIFE),
        with_vas.is_complete(Section.QUALITY_OF_LIFE),
    ) == (
        False,
        True,
    )


def test_a_death_is_complete_only_with_its_date(visit):
    dead = outcome_progress(visit=visit, values={"vital_status": "dead"})
    dated = outcome_progress(visit=visit, values={"vital_status": "dead", "date_of_death": "2026-01-02"})
    assert (dead.is_complete(Section.VITAL_STATUS), dated.is_complete(Section.VITAL_STATUS)) == (False, True)
