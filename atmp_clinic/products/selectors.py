from django.db.models import QuerySet

from atmp_clinic.accounts.models import User
from atmp_clinic.accounts.selectors import visible_to

from .models import Product, ReleaseTestKind

ALWAYS_REQUIRED = (
    ReleaseTestKind.IDENTITY,
    ReleaseTestKind.POTENCY,
    ReleaseTestKind.STERILITY,
    ReleaseTestKind.ENDOTOXIN,
)


def products_visible_to(*, user: User, perm: str = "view") -> QuerySet[Product]:
    return visible_to(user=user, queryset=Product.objects.select_related("hospital"), perm=perm)


def missing_release_tests(*, product: Product) -> list[ReleaseTestKind]:
    """The tests SPEC §2 expects in a release specification that this product's does not have:
    viability and mycoplasma for cells, vector copy number for gene-modified cells."""
    required = list(ALWAYS_REQUIRED)
    if product.is_cell_based:
        required[1:1] = [ReleaseTestKind.VIABILITY]
        required.append(ReleaseTestKind.MYCOPLASMA)
    if product.is_gene_modified_cells:
        required.append(ReleaseTestKind.VECTOR_COPY_NUMBER)
    present = set(product.release_tests.values_list("kind", flat=True))
    return [kind for kind in required if kind not in present]
