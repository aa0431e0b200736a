"""The request form is long: a draft is saved as far as it goes, and its pages say how many of its
sections are complete and which are not, by the rule submission enforces."""

import pytest
from django.urls import resolve, reverse

from atmp_clinic.exemptions.models import CRITERIA, ExemptionRequest, State
from atmp_clinic.exemptions.selectors import request_progress
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product
from tests.conftest import signature_of
from tests.exemptions.conftest import client_for, new_draft, user

pytestmark = pytest.mark.django_db


def edit_page(request: ExemptionRequest, who: str = "pharmacist") -> str:
    return client_for(who).get(reverse("request-edit", args=[request.pk])).content.decode()


def test_the_edit_page_counts_the_complete_sections_and_names_the_others():
    draft = new_draft(dose="", **dict.fromkeys(CRITERIA, False))
    html = edit_page(draft)
    assert "6 of 8 sections complete" in html
    assert "Still to complete: Hospital-exemption criteria, Treatment" in html


def test_each_section_of_the_form_says_whether_it_is_complete():
    html = edit_page(new_draft(dose=""))
    treatment = html[html.index('id="section-treatment"') :]
    manufacturing = html[html.index('id="section-manufacturing"') :]
    assert "(to complete)" in treatment[: treatment.index("</legend>")]
    assert "(complete)" in manufacturing[: manufacturing.index("</legend>")]


def test_a_complete_draft_has_every_section_complete():
    assert "8 of 8 sections complete" in edit_page(new_draft())


def test_the_request_page_shows_the_progress_of_an_incomplete_draft():
    draft = new_draft(follow_up_plan="")
    html = client_for("pharmacist").get(reverse("request-detail", args=[draft.pk])).content.decode()
    assert "7 of 8 sections complete" in html and "Pharmacovigilance and follow-up" in html


def test_a_new_draft_needs_only_its_patient_and_product():
    response = client_for("pharmacist").post(
        reverse("request-create"),
        {
            "patient": Patient.objects.get(user__username="patient").pk,
            "product": Product.objects.get(name="CD19 CAR-T cells").pk,
            "kind": "initial",  # a select always sends its chosen option
        },
    )
    assert response.status_code == 302
    draft = ExemptionRequest.objects.get(pk=resolve(response["Location"]).kwargs["pk"])
    assert request_progress(request=draft).missing  # saved incomplete


def test_an_incomplete_draft_is_still_refused_at_submission():
    draft = new_draft(dose="")
    client = client_for("pharmacist")
    response = client.post(
        reverse("request-step", args=[draft.pk, "submit"]), signature_of(user("pharmacist"))
    )
    assert response.status_code == 400
    assert ExemptionRequest.objects.get(pk=draft.pk).state == State.DRAFT


@pytest.mark.parametrize("who", ["pharmacist_2", "pharmacist_b", "clinician_b"])
def test_other_hospitals_get_404_for_the_draft_and_its_progress(who):
    draft = new_draft(dose="")
    client = client_for(who)
    assert client.get(reverse("request-edit", args=[draft.pk])).status_code == 404
    assert client.get(reverse("request-detail", args=[draft.pk])).status_code == 404
