import pytest
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from atmp_clinic.accounts.models import User
from atmp_clinic.accounts.selectors import active_membership
from atmp_clinic.patients.models import Patient
from atmp_clinic.patients.serializers import IDENTITY_FIELDS
from tests.api.conftest import client_for
from tests.conftest import log_in

pytestmark = pytest.mark.django_db

PATIENTS = "/api/v1/patients/"
STAFF = ["pharmacist", "clinician", "pharmacist_2", "clinician_b"]
NOT_STAFF = ["reviewer", "decider_b", "analyst", "patient", "admin"]
ENROLMENT = {"year_of_birth": 1970, "sex": "male", "given_name": "Gérard", "family_name": "Lefèvre"}


def emma() -> Patient:
    return Patient.objects.get(user__username="patient")


def zoe() -> Patient:
    return Patient.objects.get(user__username="patient_b")


def hospital_of(username: str):
    return active_membership(user=User.objects.get(username=username)).organisation


def listed_pseudonyms(username: str) -> set[str]:
    return {patient["pseudonym"] for patient in client_for(username).get(PATIENTS).json()["results"]}


def test_token_authenticates(demo):
    response = client_for("clinician").get(f"{PATIENTS}{emma().pk}/")
    assert response.status_code == 200 and response.json()["pseudonym"] == emma().pseudonym


def test_session_authenticates(demo):
    client = log_in(APIClient(), User.objects.get(username="clinician"))
    assert client.get(PATIENTS).status_code == 200


def test_session_enrolment_needs_the_csrf_token(demo):
    client = log_in(APIClient(enforce_csrf_checks=True), User.objects.get(username="clinician"))
    before = Patient.objects.count()
    response = client.post(PATIENTS, ENROLMENT, format="json")
    assert (response.status_code, Patient.objects.count()) == (403, before)


def test_unauthenticated_caller_gets_401_and_no_data(demo):
    response = APIClient().get(PATIENTS)
    assert response.status_code == 401 and "results" not in response.json()


def test_wrong_token_gets_401(demo):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get(PATIENTS).status_code == 401


@pytest.mark.parametrize("username", STAFF)
def test_hospital_staff_list_exactly_their_hospitals_patients(demo, username):
    own = set(Patient.objects.filter(hospital=hospital_of(username)).values_list("pseudonym", flat=True))
    assert own and listed_pseudonyms(username) == own


@pytest.mark.parametrize("username", NOT_STAFF)
def test_everyone_else_lists_no_patients(demo, username):
    assert listed_pseudonyms(username) == set()


@pytest.mark.parametrize("username", [*STAFF, *NOT_STAFF])
def test_another_hospitals_patient_is_404(demo, username):
    other = zoe() if hospital_of(username) != zoe().hospital else emma()
    response = client_for(username).get(f"{PATIENTS}{other.pk}/")
    assert response.status_code == 404 and other.pseudonym not in response.content.decode()


@pytest.mark.parametrize("username", NOT_STAFF)
def test_patient_of_a_hospital_in_the_same_country_is_404_for_everyone_else(demo, username):
    assert client_for(username).get(f"{PATIENTS}{emma().pk}/").status_code == 404


def test_unknown_patient_is_404(demo):
    assert client_for("clinician").get(f"{PATIENTS}999999/").status_code == 404


def test_patient_shows_consents_in_force_and_hospital(demo):
    data = client_for("clinician").get(f"{PATIENTS}{emma().pk}/").json()
    assert (data["hospital"]["name"], {c["kind"] for c in data["consents"]}) == (
        emma().hospital.name,
        {"treatment", "registry", "reminder_email"},
    )


def test_withdrawn_consent_is_not_listed(demo):
    emma().consents.filter(kind="registry").update(withdrawn_on="2026-04-01")
    data = client_for("clinician").get(f"{PATIENTS}{emma().pk}/").json()
    assert {c["kind"] for c in data["consents"]} == {"treatment", "reminder_email"}


def test_hospital_staff_see_identity(demo):
    data = client_for("pharmacist").get(f"{PATIENTS}{emma().pk}/").json()
    assert (data["given_name"], data["family_name"]) == ("Emma", "Bakker")


def test_identity_absent_from_detail_for_whoever_may_see_only_the_pseudonym(demo):
    assign_perm("patients.view_patient", User.objects.get(username="reviewer"), emma())
    data = client_for("reviewer").get(f"{PATIENTS}{emma().pk}/").json()
    assert data["pseudonym"] == emma().pseudonym and not set(IDENTITY_FIELDS) & set(data)


def test_identity_absent_from_list_for_whoever_may_see_only_the_pseudonym(demo):
    assign_perm("patients.view_patient", User.objects.get(username="reviewer"), emma())
    response = client_for("reviewer").get(PATIENTS)
    [data] = response.json()["results"]
    assert not set(IDENTITY_FIELDS) & set(data) and "Bakker" not in response.content.decode()


def test_list_queries_do_not_grow_with_patients(demo, django_assert_max_num_queries):
    client = client_for("clinician")
    for _ in range(10):
        client.post(PATIENTS, ENROLMENT, format="json")
    # token with user, count, patients with hospital and identity, consents in force, identity grants
    with django_assert_max_num_queries(5):
        results = client.get(PATIENTS).json()["results"]
    assert [p.get("family_name") for p in results].count("Lefèvre") == 10


def test_clinician_enrols_a_patient(demo):
    response = client_for("clinician").post(PATIENTS, ENROLMENT, format="json")
    patient = Patient.objects.get(pseudonym=response.json()["pseudonym"])
    assert response.status_code == 201 and patient.identity.full_name == "Gérard Lefèvre"


def test_enrolled_patient_belongs_to_the_callers_hospital(demo):
    response = client_for("pharmacist_b").post(PATIENTS, ENROLMENT, format="json")
    assert Patient.objects.get(pk=response.json()["id"]).hospital == hospital_of("pharmacist_b")


def test_enrolment_defaults_to_the_hospitals_language_and_zone(demo):
    data = client_for("clinician_b").post(PATIENTS, ENROLMENT, format="json").json()
    assert (data["preferred_language"], data["time_zone"]) == ("de", "Europe/Berlin")


def test_enrolment_errors_name_every_mistake(demo):
    before = Patient.objects.count()
    response = client_for("clinician").post(
        PATIENTS, ENROLMENT | {"year_of_birth": 2999, "phone": "12"}, format="json"
    )
    errors = response.json()
    assert (response.status_code, Patient.objects.count()) == (400, before)
    assert errors == {
        "year_of_birth": ["The year of birth cannot be in the future."],
        "phone": ["Write the number in international form, e.g. +31612345678."],
    }


def test_enrolment_without_a_name_is_explained(demo):
    response = client_for("clinician").post(PATIENTS, {"year_of_birth": 1970, "sex": "male"}, format="json")
    assert response.status_code == 400 and response.json()["family_name"] == ["This field is required."]


@pytest.mark.parametrize("username", ["reviewer", "analyst", "patient", "admin"])
def test_only_hospital_staff_enrol(demo, username):
    before = Patient.objects.count()
    response = client_for(username).post(PATIENTS, ENROLMENT, format="json")
    assert (response.status_code, Patient.objects.count()) == (404, before)


def test_others_get_404_even_for_invalid_enrolments(demo):
    assert client_for("reviewer").post(PATIENTS, {}, format="json").status_code == 404


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_patients_cannot_be_changed_or_deleted_through_the_api(demo, method):
    response = getattr(client_for("clinician"), method)(f"{PATIENTS}{emma().pk}/", {}, format="json")
    assert (response.status_code, Patient.objects.filter(pk=emma().pk).exists()) == (405, True)
