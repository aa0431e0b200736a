"""A hospital's catalogue of advanced therapy medicinal products and their release specifications."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from atmp_clinic.accounts.models import Organisation, User


class AtmpClass(models.TextChoices):
    GENE_THERAPY = "gtmp", _("Gene therapy medicinal product (GTMP)")
    SOMATIC_CELL_THERAPY = "sctmp", _("Somatic cell therapy medicinal product (sCTMP)")
    TISSUE_ENGINEERED = "tep", _("Tissue-engineered product (TEP)")
    COMBINED = "combined", _("Combined ATMP")


class Origin(models.TextChoices):
    AUTOLOGOUS = "autologous", _("Autologous (the patient's own cells)")
    ALLOGENEIC = "allogeneic", _("Allogeneic (a donor's cells)")
    NOT_CELL_BASED = "not_cell_based", _("Not cell-based (e.g. an in-vivo vector)")


class VectorKind(models.TextChoices):
    LENTIVIRAL = "lentiviral", _("Lentiviral (integrating)")
    GAMMA_RETROVIRAL = "gamma_retroviral", _("Gamma-retroviral (integrating)")
    GENOME_EDITING = "genome_editing", _("Genome editing")
    AAV = "aav", _("Adeno-associated virus (non-integrating)")
    PLASMID_MRNA = "plasmid_mrna", _("Plasmid or mRNA (non-integrating)")


# Vectors whose late risks (insertional mutagenesis, secondary malignancy) call for 15-year follow-up.
INTEGRATING_OR_EDITING = frozenset(
    {VectorKind.LENTIVIRAL, VectorKind.GAMMA_RETROVIRAL, VectorKind.GENOME_EDITING}
)


class Product(models.Model):
    hospital = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="products", limit_choices_to={"kind": "hospital"}
    )
    name = models.CharField(max_length=200)
    atmp_class = models.CharField("ATMP class", max_length=20, choices=AtmpClass.choices)
    origin = models.CharField(max_length=20, choices=Origin.choices)
    vector_kind = models.CharField(
        max_length=20, choices=VectorKind.choices, blank=True, help_text=_("Gene therapies only.")
    )
    mechanism_of_action = models.TextField()
    # The classification assistant's answers and reasons when the class was accepted from it.
    classification_answers = models.JSONField(default=dict, blank=True)
    classification_reasons = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "name"], name="product_name_unique_in_hospital"),
            models.CheckConstraint(
                condition=~Q(atmp_class="gtmp") | ~Q(vector_kind=""), name="gene_therapy_names_its_vector"
            ),
            models.CheckConstraint(
                condition=Q(atmp_class__in=["gtmp", "combined"]) | Q(vector_kind=""),
                name="vector_only_for_gene_therapy",
            ),
            models.CheckConstraint(
                condition=Q(atmp_class="gtmp") | ~Q(origin="not_cell_based"),
                name="only_gene_therapy_is_not_cell_based",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_cell_based(self) -> bool:
        return self.origin != Origin.NOT_CELL_BASED

    @property
    def is_gene_modified_cells(self) -> bool:
        return bool(self.vector_kind) and self.is_cell_based

    @property
    def has_integrating_vector(self) -> bool:
        return self.vector_kind in INTEGRATING_OR_EDITING

    def clean(self) -> None:
        errors = {}
        if self.atmp_class == AtmpClass.GENE_THERAPY and not self.vector_kind:
            errors["vector_kind"] = (
                "A gene therapy needs its vector kind: it decides the length of follow-up."
            )
        if self.vector_kind and self.atmp_class not in (AtmpClass.GENE_THERAPY, AtmpClass.COMBINED):
            errors["vector_kind"] = "Only a gene therapy (or a combined ATMP containing one) has a vector."
        if self.origin == Origin.NOT_CELL_BASED and self.atmp_class != AtmpClass.GENE_THERAPY:
            errors["origin"] = (
                "Cell therapies and tissue-engineered products are made of cells: choose their origin."
            )
        if self.hospital_id and not self.hospital.is_hospital:
            errors["hospital"] = "Products belong to a hospital's catalogue."
        if errors:
            raise ValidationError(errors)


class ReleaseTestKind(models.TextChoices):
    IDENTITY = "identity", _("Identity")
    VIABILITY = "viability", _("Viability")
    POTENCY = "potency", _("Potency")
    STERILITY = "sterility", _("Sterility")
    ENDOTOXIN = "endotoxin", _("Endotoxin")
    MYCOPLASMA = "mycoplasma", _("Mycoplasma")
    VECTOR_COPY_NUMBER = "vector_copy_number", _("Vector copy number")
    OTHER = "other", _("Other")


class ReleaseTest(models.Model):
    """One test of a product's release specification: a numeric range, or an expected result."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="release_tests")
    kind = models.CharField(max_length=30, choices=ReleaseTestKind.choices)
    name = models.CharField(
        max_length=200, help_text=_("What is measured and how, e.g. “Viability (7-AAD flow)”.")
    )
    lower_limit = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    upper_limit = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    unit = models.CharField(max_length=40, blank=True, help_text=_("e.g. %, EU/mL, copies/cell"))
    expected_result = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("For a test without numbers, e.g. “No growth” or “Not detected”."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["product", "id"]  # the order the pharmacist wrote the specification in
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="release_test_name_unique_in_product"),
            models.CheckConstraint(
                condition=(
                    (Q(lower_limit__isnull=False) | Q(upper_limit__isnull=False)) & Q(expected_result="")
                )
                | (Q(lower_limit__isnull=True, upper_limit__isnull=True) & ~Q(expected_result="")),
                name="release_test_is_numeric_or_expected_result",
            ),
            models.CheckConstraint(
                condition=Q(lower_limit__isnull=True)
                | Q(upper_limit__isnull=True)
                | Q(lower_limit__lte=models.F("upper_limit")),
                name="release_test_limits_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.specification}"

    def clean(self) -> None:
        numeric = self.lower_limit is not None or self.upper_limit is not None
        if numeric and self.expected_result:
            raise ValidationError("Give either limits or an expected result, not both.")
        if not numeric and not self.expected_result:
            raise ValidationError("Give a lower limit, an upper limit or both, or an expected result.")
        if (
            self.lower_limit is not None
            and self.upper_limit is not None
            and self.lower_limit > self.upper_limit
        ):
            raise ValidationError({"upper_limit": "The upper limit must not be below the lower limit."})
        if self.unit.strip() == "%":
            for name in ("lower_limit", "upper_limit"):
                value = getattr(self, name)
                if value is not None and not 0 <= value <= 100:
                    raise ValidationError({name: "A percentage lies between 0 and 100."})

    @property
    def specification(self) -> str:
        if self.expected_result:
            return self.expected_result
        unit = f" {self.unit}" if self.unit else ""
        if self.lower_limit is not None and self.upper_limit is not None:
            return f"{self.lower_limit.normalize():f}–{self.upper_limit.normalize():f}{unit}"
        if self.lower_limit is not None:
            return f"≥ {self.lower_limit.normalize():f}{unit}"
        return f"≤ {self.upper_limit.normalize():f}{unit}"


class ProductUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Product, on_delete=models.CASCADE)


class ProductGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Product, on_delete=models.CASCADE)
