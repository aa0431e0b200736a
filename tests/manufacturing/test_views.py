"""The chain-of-identity pages: who reaches them, and each step through its form."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from atmp_clinic.accounts.demo import DEMO_USERS
from atmp_clinic.manufacturing.models import Batch
from tests.conftest import signature_of
from tests.exemptions.conftest import PASSWORD, approved, client_for, user
from tests.manufacturing.conftest import collect, make_batch, record_results, released_batch

pytestmark = pytest.mark.django_db

USERNAMES = [demo_user.username for demo_user in DEMO_USERS]
SEES = {"pharmacist", "clinician", "reviewer", "assessor", "assessor2", "decider"}


def step(username: str, batch: Batch, name: str, **data):
    client = client_for(username)
    if "password" in data:  # a signature: with the code of the second factor the login just gave
        data = {**signature_of(user(username)), **data}
    return client.post(reverse("batch-step", args=[batch.pk, name]), data)


@pytest.mark.parametrize("username", USERNAMES)
def test_batch_and_traceability_pages_for_every_user(username):
    batch = make_batch()
    client = client_for(username)
    assert client.get(reverse("batch-detail", args=[batch.pk])).status_code == (
        200 if username in SEES else 404
    )
    traceability = client.get(reverse("patient-traceability", args=[batch.request.patient_id])).status_code
    assert traceability == (200 if username in {"pharmacist", "clinician"} else 404), username


@pytest.mark.parametrize("username", ["reviewer", "pharmacist_2", "analyst", "patient"])
def test_only_the_hospital_records_a_collection(username):
    response = client_for(username).post(reverse("collection-create", args=[approved().pk]), {})
    assert response.status_code == 404


def test_clinician_records_a_collection_through_the_form():
    request = approved()
    data = {
        "donation_identifier": "NL 000123 G123 498 654 321", "check_character": "H", "material": "Leukapheresis",
        "collected_at": (timezone.now() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"), "collection_site": "Unit 4",
    }  # fmt: skip
    response = client_for("clinician").post(reverse("collection-create", args=[request.pk]), data)
    assert (
        response.status_code == 302
        and request.collections.get().donation_identifier == "NL000123G123498654321"
    )


def test_a_wrong_check_character_is_explained_and_the_form_kept():
    data = {
        "donation_identifier": "NL000123G123498654321", "check_character": "Q", "material": "Leukapheresis",
        "collected_at": timezone.now().strftime("%Y-%m-%dT%H:%M"), "collection_site": "Unit 4",
    }  # fmt: skip
    page = (
        client_for("clinician")
        .post(reverse("collection-create", args=[approved().pk]), data)
        .content.decode()
    )
    assert "check character does not match" in page and 'value="Unit 4"' in page


def test_pharmacist_makes_a_batch_through_the_form():
    collection = collect()
    data = {
        "batch_number": "CART-7", "manufactured_on": timezone.localdate().isoformat(),
        "expires_on": (timezone.localdate() + timedelta(days=20)).isoformat(),
    }  # fmt: skip
    response = client_for("pharmacist").post(reverse("batch-create", args=[collection.pk]), data)
    batch = Batch.objects.get(batch_number="CART-7")
    assert response["Location"] == reverse("batch-detail", args=[batch.pk])


def test_results_are_recorded_and_out_of_specification_is_shown():
    batch = make_batch()
    viability = batch.request.product.release_tests.get(kind="viability")
    step("pharmacist", batch, "record_result", test=viability.pk, value="55")
    page = client_for("pharmacist").get(reverse("batch-detail", args=[batch.pk])).content.decode()
    assert "No: out of specification" in page


def test_viability_over_100_is_explained_on_its_field():
    batch = make_batch()
    viability = batch.request.product.release_tests.get(kind="viability")
    response = step("pharmacist", batch, "record_result", test=viability.pk, value="120")
    assert response.status_code == 400 and "A percentage cannot be over 100." in response.content.decode()


def test_release_of_an_out_of_specification_batch_is_refused_with_the_reason():
    batch = make_batch()
    record_results(batch, viability=55)
    response = step("pharmacist", batch, "release", password=PASSWORD)
    assert response.status_code == 400 and "Out of specification" in response.content.decode()


def test_the_bedside_check_is_explained():
    batch = released_batch()
    response = step("clinician", batch, "administer", administered_at=timezone.now().strftime("%Y-%m-%dT%H:%M"),
                    dose="1 bag", patient_code="P-0000-0000", batch_code=batch.batch_number)  # fmt: skip
    assert response.status_code == 400 and "patient code does not match" in response.content.decode()


@pytest.mark.parametrize(("username", "name"), [("clinician", "release"), ("pharmacist", "administer"),
                                                ("reviewer", "record_result"), ("pharmacist_2", "release")])  # fmt: skip
def test_a_step_by_the_wrong_person_is_404(username, name):
    batch = make_batch()
    record_results(batch)
    fields = {"password": PASSWORD, "administered_at": "2026-01-01T10:00", "dose": "x", "patient_code": "x",
              "batch_code": "x", "test": 1, "value": "1"}  # fmt: skip
    assert step(username, batch, name, **fields).status_code == 404
    assert Batch.objects.get(pk=batch.pk).status == "in_testing"


def test_request_page_shows_the_chain():
    batch = make_batch()
    page = client_for("reviewer").get(reverse("request-detail", args=[batch.request_id])).content.decode()
    assert "Chain of identity" in page and batch.batch_number in page


def test_the_audit_trail_says_which_result_was_recorded():
    batch = make_batch()
    record_results(batch, viability=55)
    page = client_for("pharmacist").get(reverse("batch-detail", args=[batch.pk])).content.decode()
    assert "Result recorded</strong> Viability (7-AAD flow cytometry): 55 % (out of specification)" in page


def test_a_notified_administration_appears_in_the_authoritys_worklist():
    from atmp_clinic.accounts.models import Organisation
    from atmp_clinic.manufacturing import services

    Organisation.objects.filter(kind="authority", country="NL").update(notify_each_administration=True)
    batch = released_batch()
    services.administration_record(
        actor=user("clinician"), batch=batch, administered_at=timezone.now(), dose="1 bag",
        patient_code=batch.request.patient.pseudonym, batch_code=batch.batch_number,
    )  # fmt: skip
    page = client_for("reviewer").get(reverse("home")).content.decode()
    assert (
        "Administrations notified" in page
        and batch.batch_number in page
        and batch.request.patient.pseudonym in page
    )


def test_an_authority_whose_rules_do_not_ask_sees_no_administrations_section():
    assert "Administrations notified" not in client_for("reviewer").get(reverse("home")).content.decode()


def test_the_administration_is_corrected_through_the_batch_page():
    from atmp_clinic.manufacturing import services

    batch = released_batch()
    services.administration_record(
        actor=user("clinician"), batch=batch, administered_at=timezone.now(), dose="1 bag",
        patient_code=batch.request.patient.pseudonym, batch_code=batch.batch_number,
    )  # fmt: skip
    response = step("clinician", batch, "correct_administration", dose="0.8 bag", reason="Partly infused.")
    batch.administration.refresh_from_db()
    assert response.status_code == 302 and batch.administration.dose == "0.8 bag"


@pytest.mark.parametrize(
    ("username", "sees"), [("pharmacist", True), ("pharmacist_2", False), ("pharmacist_b", False)]
)
def test_the_pharmacist_worklist_lists_the_hospitals_batches_in_release_testing(username, sees):
    batch = make_batch()
    html = client_for(username).get(reverse("home")).content.decode()
    section = html[html.index('id="batches-release"') :]
    assert (reverse("batch-detail", args=[batch.pk]) in section) is sees
    assert (batch.batch_number in html) is sees
