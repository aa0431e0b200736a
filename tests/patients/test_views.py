import pytest
from django.urls import reverse

from atmp_clinic.patients.models import Patient
from tests.exemptions.conftest import client_for

pytestmark = pytest.mark.django_db


def emma() -> Patient:
    return Patient.objects.get(user__username="patient")


ENROLMENT = {
    "year_of_birth": "1970",
    "sex": "male",
    "given_name": "Gérard",
    "family_name": "Lefèvre",
    "email": "",
    "phone": "",
    "preferred_language": "fr",
    "time_zone": "Europe/Amsterdam",
}


def test_clinician_enrols_a_patient(demo):
    response = client_for("clinician").post(reverse("patient-create"), ENROLMENT)
    patient = Patient.objects.latest("pk")
    assert response["Location"] == reverse("patient-detail", args=[patient.pk])
    assert patient.identity.full_name == "Gérard Lefèvre"


def test_enrolment_errors_keep_what_was_typed(demo):
    page = (
        client_for("pharmacist")
        .post(reverse("patient-create"), ENROLMENT | {"year_of_birth": "2999", "phone": "12"})
        .content.decode()
    )
    assert "cannot be in the future" in page and "international form" in page and 'value="Lefèvre"' in page


def test_enrolment_suggests_the_hospitals_language_and_zone(demo):
    page = client_for("pharmacist_b").get(reverse("patient-create")).content.decode()
    assert '<option value="Europe/Berlin" selected>' in page and '<option value="de" selected>' in page


@pytest.mark.parametrize("username", ["reviewer", "analyst", "patient", "admin"])
def test_only_hospital_staff_reach_enrolment(demo, username):
    assert client_for(username).get(reverse("patient-create")).status_code == 404


def test_patient_page_shows_identity_to_its_hospitals_staff(demo):
    page = client_for("pharmacist").get(reverse("patient-detail", args=[emma().pk])).content.decode()
    assert "Emma Bakker" in page and emma().pseudonym in page


@pytest.mark.parametrize(
    "username", ["pharmacist_2", "clinician_b", "reviewer", "decider_b", "analyst", "patient"]
)
def test_patient_page_is_404_for_everyone_else(demo, username):
    response = client_for(username).get(reverse("patient-detail", args=[emma().pk]))
    assert response.status_code == 404 and emma().pseudonym not in response.content.decode()


@pytest.mark.parametrize("username", ["pharmacist_2", "reviewer", "analyst"])
def test_patient_list_of_others_leaks_nothing(demo, username):
    page = client_for(username).get(reverse("patient-list")).content.decode()
    assert "Bakker" not in page and emma().pseudonym not in page


def test_list_queries_do_not_grow_with_patients(demo, django_assert_max_num_queries):
    client = client_for("clinician")
    for _ in range(10):
        client.post(reverse("patient-create"), ENROLMENT)
    # session, user, whether a second factor was set up, membership, patients with identity, their
    # consents, and the session's save (3)
    with django_assert_max_num_queries(9):
        assert client.get(reverse("patient-list")).content.decode().count("Lefèvre") == 10


def test_consent_recorded_and_withdrawn_through_the_page(demo):
    client = client_for("clinician")
    patient = emma()
    client.post(
        reverse("consent-create", args=[patient.pk]), {"kind": "reminder_sms", "given_on": "2026-04-01"}
    )
    consent = patient.consents.get(kind="reminder_sms")
    client.post(reverse("consent-withdraw", args=[patient.pk, consent.pk]), {"withdrawn_on": "2026-05-01"})
    consent.refresh_from_db()
    assert str(consent.withdrawn_on) == "2026-05-01"


def test_duplicate_consent_is_explained(demo):
    response = client_for("clinician").post(
        reverse("consent-create", args=[emma().pk]), {"kind": "treatment", "given_on": "2026-04-01"}
    )
    assert response.status_code == 400 and "already given on 02 March 2026" in response.content.decode()


def test_withdrawal_without_a_date_is_explained(demo):
    consent = emma().consents.get(kind="registry")
    response = client_for("clinician").post(reverse("consent-withdraw", args=[emma().pk, consent.pk]), {})
    assert response.status_code == 400 and "This field is required" in response.content.decode()


@pytest.mark.parametrize("username", ["clinician_2", "reviewer", "analyst"])
def test_others_cannot_record_consents(demo, username):
    before = emma().consents.count()
    response = client_for(username).post(
        reverse("consent-create", args=[emma().pk]), {"kind": "reminder_sms", "given_on": "2026-04-01"}
    )
    assert (response.status_code, emma().consents.count()) == (404, before)


def test_clinician_records_a_death(demo):
    client_for("clinician").post(reverse("patient-death", args=[emma().pk]), {"date_of_death": "2026-06-01"})
    assert str(emma().date_of_death) == "2026-06-01"


def test_pharmacist_cannot_record_a_death(demo):
    response = client_for("pharmacist").post(
        reverse("patient-death", args=[emma().pk]), {"date_of_death": "2026-06-01"}
    )
    assert (response.status_code, emma().date_of_death) == (404, None)
