"""Writes to the catalogue. Only a pharmacist of the product's hospital adds products and tests."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from guardian.shortcuts import assign_perm

from atmp_clinic.accounts.models import Organisation, Role, User
from atmp_clinic.accounts.selectors import has_role_in
from atmp_clinic.accounts.services import organisation_group

from .classification import QUESTIONS, classify
from .models import Product, ReleaseTest

NOT_A_PHARMACIST_OF_THIS_HOSPITAL = "Only a pharmacist of the product's hospital can change its catalogue."


def _require_pharmacist_of(*, actor: User, hospital: Organisation) -> None:
    if not has_role_in(user=actor, organisation=hospital, roles={Role.PHARMACIST}):
        raise PermissionDenied(NOT_A_PHARMACIST_OF_THIS_HOSPITAL)


@transaction.atomic
def product_create(
    *,
    actor: User,
    hospital: Organisation,
    name: str,
    atmp_class: str,
    origin: str,
    mechanism_of_action: str,
    vector_kind: str = "",
    classification_answers: dict[str, bool] | None = None,
) -> Product:
    """Add a product; the assistant's answers and reasons are kept with it when it was used."""
    _require_pharmacist_of(actor=actor, hospital=hospital)
    answers = {
        name: bool(value) for name, value in (classification_answers or {}).items() if name in QUESTIONS
    }
    product = Product(
        hospital=hospital,
        name=name,
        atmp_class=atmp_class,
        origin=origin,
        vector_kind=vector_kind,
        mechanism_of_action=mechanism_of_action,
        classification_answers=answers,
        classification_reasons=classify(answers).reasons if answers else [],
        created_by=actor,
    )
    product.full_clean()
    product.save()
    assign_perm("products.view_product", organisation_group(organisation=hospital), product)
    assign_perm(
        "products.change_product", organisation_group(organisation=hospital, role=Role.PHARMACIST), product
    )
    return product


@transaction.atomic
def release_test_add(
    *,
    actor: User,
    product: Product,
    kind: str,
    name: str,
    lower_limit=None,
    upper_limit=None,
    unit: str = "",
    expected_result: str = "",
) -> ReleaseTest:
    _require_pharmacist_of(actor=actor, hospital=product.hospital)
    release_test = ReleaseTest(
        product=product,
        kind=kind,
        name=name,
        lower_limit=lower_limit,
        upper_limit=upper_limit,
        unit=unit,
        expected_result=expected_result,
    )
    release_test.full_clean()
    release_test.save()
    return release_test
