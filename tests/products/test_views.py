import re

import pytest
from django.urls import reverse

from atmp_clinic.accounts.models import User
from atmp_clinic.products.classification import QUESTIONS
from atmp_clinic.products.models import Product, ReleaseTest
from tests.exemptions.conftest import client_for

pytestmark = pytest.mark.django_db


def answers(**yes) -> dict:
    return {name: "yes" if yes.get(name) else "no" for name in QUESTIONS}


KERATINOCYTES = answers(
    contains_cells_or_tissues=True, substantially_manipulated=True, regenerates_tissue=True
)


def test_assistant_proposes_a_class_with_reasons(demo):
    response = client_for("pharmacist").post(reverse("product-create"), KERATINOCYTES | {"step": "classify"})
    page = response.content.decode()
    assert (
        "Proposed class: Tissue-engineered product (TEP)" in page and "regenerate, repair or replace" in page
    )


def test_unanswered_question_is_flagged_and_answers_are_kept(demo):
    partial = KERATINOCYTES | {"step": "classify"}
    del partial["integral_medical_device"]
    page = client_for("pharmacist").post(reverse("product-create"), partial).content.decode()
    assert "Answer yes or no." in page
    assert re.search(r'name="regenerates_tissue" value="yes"[^>]* checked', page)


def test_pharmacist_accepts_the_proposal_and_adds_the_product(demo):
    data = KERATINOCYTES | {
        "step": "create",
        "name": "Epidermal graft",
        "atmp_class": "tep",
        "origin": "autologous",
        "vector_kind": "",
        "mechanism_of_action": "Replaces epidermis.",
    }
    response = client_for("pharmacist").post(reverse("product-create"), data)
    product = Product.objects.get(name="Epidermal graft")
    assert response["Location"] == reverse("product-detail", args=[product.pk])
    assert product.classification_answers["regenerates_tissue"] is True


def test_product_form_errors_keep_what_was_typed(demo):
    data = KERATINOCYTES | {
        "step": "create",
        "name": "CD19 CAR-T cells",  # taken in this hospital
        "atmp_class": "tep",
        "origin": "autologous",
        "mechanism_of_action": "Typed with care.",
    }
    page = client_for("pharmacist").post(reverse("product-create"), data).content.decode()
    assert "already exists" in page and "Typed with care." in page


def test_not_an_atmp_cannot_be_added(demo):
    data = answers(contains_cells_or_tissues=True) | {"step": "classify"}
    page = client_for("pharmacist").post(reverse("product-create"), data).content.decode()
    assert "Proposed class: Not an ATMP" in page and 'value="create"' not in page


@pytest.mark.parametrize("username", ["clinician", "reviewer", "patient", "analyst", "admin"])
def test_only_pharmacists_reach_the_add_page(demo, username):
    assert client_for(username).get(reverse("product-create")).status_code == 404


@pytest.mark.parametrize(
    ("username", "status"),
    [("pharmacist", 200), ("clinician", 200), ("pharmacist_2", 404), ("pharmacist_b", 404), ("reviewer", 404),
     ("patient", 404), ("analyst", 404)],
)  # fmt: skip
def test_product_page_for_each_role_and_hospital(demo, username, status):
    product = Product.objects.get(name="CD19 CAR-T cells")
    assert client_for(username).get(reverse("product-detail", args=[product.pk])).status_code == status


def test_product_list_shows_only_own_hospital(demo):
    page = client_for("pharmacist_b").get(reverse("product-list")).content.decode()
    assert "Chondrozyten auf Kollagenmatrix" in page and "CD19 CAR-T cells" not in page


def test_pharmacist_adds_a_release_test(demo):
    product = Product.objects.get(name="Chondrozyten auf Kollagenmatrix")
    data = {"kind": "identity", "name": "Collagen type II expression", "lower_limit": "50", "unit": "%"}
    response = client_for("pharmacist_b").post(reverse("release-test-create", args=[product.pk]), data)
    assert (
        response.status_code == 302
        and product.release_tests.filter(name="Collagen type II expression").exists()
    )


def test_release_test_errors_are_shown_and_typed_values_kept(demo):
    product = Product.objects.get(name="Chondrozyten auf Kollagenmatrix")
    data = {"kind": "viability", "name": "Viability again", "lower_limit": "150", "unit": "%"}
    response = client_for("pharmacist_b").post(reverse("release-test-create", args=[product.pk]), data)
    page = response.content.decode()
    assert response.status_code == 400 and "between 0 and 100" in page and 'value="Viability again"' in page


@pytest.mark.parametrize("username", ["clinician_b", "pharmacist", "reviewer_b"])
def test_others_cannot_add_release_tests(demo, username):
    product = Product.objects.get(name="Chondrozyten auf Kollagenmatrix")
    before = ReleaseTest.objects.count()
    data = {"kind": "identity", "name": "Sneaky", "expected_result": "Conforms"}
    response = client_for(username).post(reverse("release-test-create", args=[product.pk]), data)
    assert (response.status_code, ReleaseTest.objects.count()) == (404, before)


def test_product_list_queries_do_not_grow_with_the_catalogue(demo, django_assert_max_num_queries):
    from atmp_clinic.products import services

    pharmacist = User.objects.get(username="pharmacist")
    hospital = pharmacist.memberships.get().organisation
    for n in range(15):
        services.product_create(
            actor=pharmacist, hospital=hospital, name=f"Cells {n}", atmp_class="sctmp", origin="autologous",
            mechanism_of_action="x",
        )  # fmt: skip
    client = client_for("pharmacist")
    # session, user, the second factor's device, membership, products, and the session's save (3
    # with its savepoint)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("product-list")).content.decode().count("/products/") >= 17
