from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError

from atmp_clinic.accounts.models import Organisation, User
from atmp_clinic.products import services
from atmp_clinic.products.models import AtmpClass, Origin, Product, ReleaseTest, ReleaseTestKind, VectorKind
from atmp_clinic.products.selectors import missing_release_tests, products_visible_to

pytestmark = pytest.mark.django_db


def product_fields(**overrides):
    return {
        "name": "Test CAR-T",
        "atmp_class": AtmpClass.GENE_THERAPY,
        "origin": Origin.AUTOLOGOUS,
        "vector_kind": VectorKind.LENTIVIRAL,
        "mechanism_of_action": "Kills CD19+ cells.",
    } | overrides


@pytest.fixture
def pharmacist(demo):
    return User.objects.get(username="pharmacist")


@pytest.fixture
def hospital(pharmacist):
    return pharmacist.memberships.get().organisation


def test_pharmacist_adds_a_product_with_the_assistants_reasons(pharmacist, hospital):
    answers = {
        "recombinant_nucleic_acid": True,
        "effect_from_sequence": True,
        "contains_cells_or_tissues": True,
    }
    product = services.product_create(
        actor=pharmacist, hospital=hospital, classification_answers=answers, **product_fields()
    )
    assert (
        product.classification_reasons and product.classification_answers["recombinant_nucleic_acid"] is True
    )


def test_clinician_cannot_add_a_product(demo, hospital):
    with pytest.raises(PermissionDenied, match="Only a pharmacist of the product's hospital"):
        services.product_create(
            actor=User.objects.get(username="clinician"), hospital=hospital, **product_fields()
        )


def test_pharmacist_cannot_add_to_another_hospitals_catalogue(pharmacist):
    other = Organisation.objects.get(name="Waddenzee Ziekenhuis")
    with pytest.raises(PermissionDenied):
        services.product_create(actor=pharmacist, hospital=other, **product_fields())


def test_gene_therapy_needs_its_vector(pharmacist, hospital):
    with pytest.raises(ValidationError) as error:
        services.product_create(actor=pharmacist, hospital=hospital, **product_fields(vector_kind=""))
    assert "vector_kind" in error.value.message_dict


def test_cell_therapy_has_no_vector(pharmacist, hospital):
    fields = product_fields(atmp_class=AtmpClass.SOMATIC_CELL_THERAPY)
    with pytest.raises(ValidationError, match="Only a gene therapy"):
        services.product_create(actor=pharmacist, hospital=hospital, **fields)


def test_database_refuses_a_gene_therapy_without_vector(pharmacist, hospital):
    with pytest.raises(IntegrityError):
        Product.objects.create(hospital=hospital, created_by=pharmacist, **product_fields(vector_kind=""))


def test_product_names_are_unique_in_a_hospital(pharmacist, hospital):
    services.product_create(actor=pharmacist, hospital=hospital, **product_fields())
    with pytest.raises(ValidationError, match="already exists"):
        services.product_create(actor=pharmacist, hospital=hospital, **product_fields())


def test_viability_above_100_percent_is_refused(pharmacist):
    product = Product.objects.get(name="CD19 CAR-T cells")
    with pytest.raises(ValidationError, match="between 0 and 100"):
        services.release_test_add(
            actor=pharmacist,
            product=product,
            kind=ReleaseTestKind.VIABILITY,
            name="V2",
            lower_limit=Decimal(120),
            unit="%",
        )


def test_release_test_has_limits_or_an_expected_result_not_both(pharmacist):
    product = Product.objects.get(name="CD19 CAR-T cells")
    with pytest.raises(ValidationError, match="either limits or an expected result"):
        services.release_test_add(
            actor=pharmacist,
            product=product,
            kind=ReleaseTestKind.STERILITY,
            name="S2",
            upper_limit=Decimal(1),
            expected_result="No growth",
        )


def test_database_refuses_a_release_test_without_specification(pharmacist):
    with pytest.raises(IntegrityError):
        ReleaseTest.objects.create(
            product=Product.objects.get(name="CD19 CAR-T cells"), kind="identity", name="X"
        )


def test_specification_reads_as_a_pharmacist_writes_it(demo):
    tests = {t.name: t.specification for t in ReleaseTest.objects.filter(product__name="CD19 CAR-T cells")}
    assert (tests["Viability (7-AAD flow cytometry)"], tests["Bacterial endotoxins (LAL)"]) == (
        "≥ 70 %",
        "≤ 0.5 EU/mL",
    )


def test_gene_modified_cells_need_a_vector_copy_number_test(pharmacist, hospital):
    product = services.product_create(actor=pharmacist, hospital=hospital, **product_fields())
    assert ReleaseTestKind.VECTOR_COPY_NUMBER in missing_release_tests(product=product)


def test_in_vivo_vector_needs_no_viability_or_mycoplasma(pharmacist, hospital):
    fields = product_fields(vector_kind=VectorKind.AAV, origin=Origin.NOT_CELL_BASED)
    product = services.product_create(actor=pharmacist, hospital=hospital, **fields)
    assert missing_release_tests(product=product) == [
        ReleaseTestKind.IDENTITY,
        ReleaseTestKind.POTENCY,
        ReleaseTestKind.STERILITY,
        ReleaseTestKind.ENDOTOXIN,
    ]


def test_demo_car_t_specification_is_complete(demo):
    assert missing_release_tests(product=Product.objects.get(name="CD19 CAR-T cells")) == []


@pytest.mark.parametrize(
    ("username", "visible"),
    [
        ("pharmacist", {"CD19 CAR-T cells", "Cultured autologous keratinocyte sheet"}),
        ("clinician", {"CD19 CAR-T cells", "Cultured autologous keratinocyte sheet"}),
        ("pharmacist_2", {"Allogeneic mesenchymal stromal cells"}),
        ("clinician_b", {"Dendritische Zellvakzine (Tumorlysat)", "Chondrozyten auf Kollagenmatrix"}),
        ("patient", set()),
        ("reviewer", set()),
        ("analyst", set()),
        ("admin", set()),
    ],
)
def test_catalogue_is_seen_only_by_its_hospitals_staff(demo, username, visible):
    user = User.objects.get(username=username)
    assert {p.name for p in products_visible_to(user=user)} == visible
