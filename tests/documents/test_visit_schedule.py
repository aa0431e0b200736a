"""The patient's visit schedule letter (issue 7): the visits still to come with their windows and the
hospital's phone, in the patient's language, nothing clinical, and only to those who may see it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from atmp_clinic.documents.models import DocumentKind, IssuedDocument
from atmp_clinic.documents.visit_schedule import build
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.followup.reminder_texts import localised_date
from atmp_clinic.registry import services as registry_services
from tests.documents.conftest import assert_a_proper_document, pdf_reader, pdf_text
from tests.exemptions.conftest import client_for, complete_fields, user
from tests.followup.conftest import enrolled_patient, plan_for

pytestmark = pytest.mark.django_db

TITLES = {
    "en": "Your follow-up visit schedule",
    "de": "Ihr Terminplan für die Nachsorge",
    "es": "Su calendario de visitas de seguimiento",
    "fr": "Votre calendrier de visites de suivi",
}


@pytest.fixture(autouse=True)
def _demo(demo):
    """The demo's hospitals, authorities, people, product and patient with a plan."""


def letter_text(plan: FollowUpPlan) -> str:
    """The letter's text with its lines joined, as a table cell may wrap a date."""
    built = build(plan)
    return " ".join(assert_a_proper_document(built.pdf, title=built.title).split())


def scheduled(plan: FollowUpPlan) -> list[FollowUpVisit]:
    return list(plan.visits.filter(status=FollowUpVisit.Status.SCHEDULED).order_by("due_on"))


def test_the_letter_gives_each_visit_with_its_date_and_window_and_the_hospitals_phone():
    plan = plan_for(enrolled_patient())
    text = letter_text(plan)
    visits = scheduled(plan)
    assert len(visits) > 10  # the CAR-T plan runs 15 years, over several pages
    with translation.override("en"):
        for visit in visits:
            window = f"{localised_date(visit.window_opens_on)} – {localised_date(visit.window_closes_on)}"
            assert localised_date(visit.due_on) in text and window in text, visit
    assert plan.patient.hospital.phone and plan.patient.hospital.phone in text
    assert plan.patient.hospital.name in text


def test_the_letter_contains_nothing_clinical():
    plan = plan_for(enrolled_patient())
    request = plan.administration.request
    first = plan.visits.order_by("due_on").first()
    FollowUpVisit.objects.filter(pk=first.pk).update(note="Complained of tremor; check neurotoxicity.")
    registry_services.adverse_event_record(
        actor=user("clinician"), plan=plan, term="Pyrexia", onset_on=timezone.localdate(),
        relatedness="not_related", outcome="recovering", grade=2,
    )  # fmt: skip
    text = letter_text(plan)
    for clinical in (
        complete_fields()["indication"],
        request.indication_code,
        request.product.name,
        "CAR-T",
        plan.administration.batch.batch_number,
        plan.administration.batch.collection.donation_identifier,
        plan.patient.pseudonym,
        request.reference,
        first.label,
        "tremor",
        "Pyrexia",
    ):
        assert clinical not in text, clinical


def test_visits_done_missed_or_cancelled_are_left_out_and_an_overdue_one_asks_for_a_call():
    plan = plan_for(enrolled_patient())
    done, overdue, *_ = scheduled(plan)
    FollowUpVisit.objects.filter(pk=done.pk).update(status=FollowUpVisit.Status.CANCELLED)
    yesterday = timezone.localdate() - timedelta(days=1)
    FollowUpVisit.objects.filter(pk=overdue.pk).update(
        due_on=yesterday, window_opens_on=yesterday - timedelta(days=3), window_closes_on=yesterday
    )
    text = letter_text(plan)
    with translation.override("en"):
        assert localised_date(done.due_on) not in text
        assert localised_date(yesterday) in text
    assert "Overdue: please call us to arrange it." in text


def test_the_letter_is_addressed_to_the_patient_by_name():
    plan = plan_for(enrolled_patient())
    assert "Dear Noor de Wit," in letter_text(plan)


@pytest.mark.parametrize("language", ["de", "es", "fr"])
def test_the_letter_is_in_the_patients_language(language):
    plan = plan_for(enrolled_patient(language=language))
    built = build(plan)
    assert built.title == TITLES[language]
    text = " ".join(assert_a_proper_document(built.pdf, title=built.title).split())
    first = scheduled(plan)[0]
    with translation.override(language):
        assert localised_date(first.due_on) in text
    assert "Your follow-up" not in text and "Possible days" not in text and "Page 1 of" not in text
    assert {"de": "Seite 1 von", "es": "Página 1 de", "fr": "Page 1 sur"}[language] in text
    assert pdf_reader(built.pdf).root_object["/Lang"] == language  # for screen readers


def test_accented_and_non_latin_names_render():
    plan = plan_for(enrolled_patient(language="de"))
    identity = plan.patient.identity
    identity.given_name, identity.family_name = "Zoë Ωμέγα", "Weiß-Жуковá"
    identity.save()
    assert "Zoë Ωμέγα Weiß-Жуковá" in letter_text(FollowUpPlan.objects.get(pk=plan.pk))


@pytest.mark.parametrize("username", ["clinician", "pharmacist"])
def test_the_hospital_prints_the_letter(username, document_media):
    plan = plan_for(enrolled_patient())
    response = client_for(username).get(reverse("plan-schedule", args=[plan.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "Dear Noor de Wit," in pdf_text(response.content)
    assert IssuedDocument.objects.filter(kind=DocumentKind.VISIT_SCHEDULE, object_id=plan.pk).exists()


@pytest.mark.parametrize(
    "username",
    [
        "clinician_2",
        "pharmacist_2",
        "clinician_b",
        "reviewer_b",
        "decider_b",
        "analyst",
        "patient",
        "reviewer",
        "decider",
    ],
)
def test_other_hospitals_other_countries_other_roles_and_other_patients_get_404(username, document_media):
    """The authority sees the plan but not the patient's identity, so not a letter with their name."""
    plan = plan_for(enrolled_patient())
    assert client_for(username).get(reverse("plan-schedule", args=[plan.pk])).status_code == 404


def test_the_patient_downloads_their_own_letter_without_anyone_elses_data(document_media):
    own = user("patient").patient
    other = plan_for(enrolled_patient())
    response = client_for("patient").get(reverse("own-schedule"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(response.content).split())
    assert own.identity.full_name in text
    assert other.patient.identity.full_name not in text and other.patient.pseudonym not in text
    issued = IssuedDocument.objects.get(kind=DocumentKind.VISIT_SCHEDULE)
    assert issued.record == own.follow_up_plans.get() and issued.issued_by == user("patient")


@pytest.mark.parametrize("username", ["clinician", "pharmacist", "reviewer", "analyst"])
def test_only_patients_have_an_own_letter(username, document_media):
    assert client_for(username).get(reverse("own-schedule")).status_code == 404


def test_the_plan_page_and_the_patients_home_link_to_the_letter():
    plan = plan_for(enrolled_patient())
    plan_page = client_for("clinician").get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert reverse("plan-schedule", args=[plan.pk]) in plan_page
    authority_page = client_for("reviewer").get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert reverse("plan-schedule", args=[plan.pk]) not in authority_page
    assert reverse("own-schedule") in client_for("patient").get(reverse("home")).content.decode()
