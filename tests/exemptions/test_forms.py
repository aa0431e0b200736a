"""The hospital's request form states the model's rules itself, so a refusal names the real one."""

import pytest
from django.urls import reverse

from atmp_clinic.exemptions.forms import RequestForm
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product
from tests.exemptions.conftest import client_for, user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["-3", "0"])
def test_batches_expected_below_one_is_refused_with_the_rule_of_at_least_one(typed):
    data = {
        "patient": Patient.objects.get(user__username="patient").pk,
        "product": Product.objects.get(name="CD19 CAR-T cells").pk,
        "kind": "initial",
        "batches_expected": typed,
    }
    page = client_for("pharmacist").post(reverse("request-create"), data).content.decode()
    assert "greater than or equal to 1." in page and "greater than or equal to 0." not in page


def test_the_batches_expected_input_lets_the_browser_offer_nothing_below_one():
    hospital = user("pharmacist").memberships.get().organisation
    assert RequestForm(hospital=hospital).fields["batches_expected"].widget.attrs["min"] == 1
