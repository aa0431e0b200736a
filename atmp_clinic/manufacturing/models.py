"""The chain of identity (SPEC §2 Batch, Administration): patient ↔ collection ↔ batch ↔
administration, for an approved request. Records are kept for 30 years and never deleted;
corrections go through the services, which audit them."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from atmp_clinic.accounts.models import User
from atmp_clinic.exemptions.models import ExemptionRequest
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import ReleaseTest


class Collection(models.Model):
    """The starting material, identified by its Single European Code donation sequence."""

    request = models.ForeignKey(ExemptionRequest, on_delete=models.PROTECT, related_name="collections")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="collections")
    donation_identifier = models.CharField(max_length=21, unique=True, editable=False)
    check_character = models.CharField(max_length=1, blank=True, editable=False)
    material = models.CharField(
        max_length=100, help_text=_("e.g. leukapheresis, skin biopsy, bone marrow aspirate")
    )
    collected_at = models.DateTimeField()
    collection_site = models.CharField(max_length=200)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["collected_at"]

    def __str__(self) -> str:
        return self.donation_identifier


class Batch(models.Model):
    class Status(models.TextChoices):
        IN_TESTING = "in_testing", _("In release testing")
        RELEASED = "released", _("Released")
        EXCEPTIONALLY_RELEASED = "exceptionally_released", _("Released exceptionally (out of specification)")
        ADMINISTERED = "administered", _("Administered")

    request = models.ForeignKey(ExemptionRequest, on_delete=models.PROTECT, related_name="batches")
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="batches")
    batch_number = models.CharField(max_length=40)
    product_code = models.CharField("SEC product identification sequence", max_length=19, blank=True)
    manufactured_on = models.DateField()
    expires_on = models.DateField()
    status = models.CharField(
        max_length=30, choices=Status.choices, default=Status.IN_TESTING, editable=False
    )
    exceptional_release_justification = models.TextField(blank=True)
    released_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"
        constraints = [
            models.UniqueConstraint(
                fields=["request", "batch_number"], name="batch_number_unique_in_request",
                violation_error_message="This batch number is already used for this request.",
            ),
            models.CheckConstraint(
                condition=Q(expires_on__gte=models.F("manufactured_on")), name="batch_expires_after_manufacture",
                violation_error_message="A batch cannot expire before it is made.",
            ),
            models.CheckConstraint(
                condition=Q(status="in_testing") | Q(released_at__isnull=False, released_by__isnull=False),
                name="released_batches_name_who_and_when",
            ),
            models.CheckConstraint(
                condition=~Q(status="exceptionally_released") | ~Q(exceptional_release_justification=""),
                name="exceptional_release_is_justified",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.batch_number

    @property
    def is_released(self) -> bool:
        return self.status in (self.Status.RELEASED, self.Status.EXCEPTIONALLY_RELEASED)


class ReleaseResult(models.Model):
    """One test of the product's specification measured on one batch; whether it passed is computed
    from the specification, never typed."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="results")
    test = models.ForeignKey(ReleaseTest, on_delete=models.PROTECT, related_name="+")
    value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    observation = models.CharField(max_length=100, blank=True, help_text=_("For a test without numbers."))
    passed = models.BooleanField(editable=False)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["test_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "test"], name="one_result_per_test",
                violation_error_message="A result for this test is already recorded; correct it instead.",
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=False) | ~Q(observation=""), name="result_has_a_value_or_observation"
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.test.name}: {self.shown}"

    @property
    def shown(self) -> str:
        if self.value is None:
            return self.observation
        unit = f" {self.test.unit}" if self.test.unit else ""
        return f"{self.value.normalize():f}{unit}"


class Administration(models.Model):
    batch = models.OneToOneField(Batch, on_delete=models.PROTECT, related_name="administration")
    request = models.ForeignKey(ExemptionRequest, on_delete=models.PROTECT, related_name="administrations")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="administrations")
    administered_at = models.DateTimeField()
    dose = models.CharField(max_length=200)
    administered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    authority_notified = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["administered_at"]

    def __str__(self) -> str:
        return f"{self.batch} to {self.patient} on {self.administered_at:%Y-%m-%d}"


class BatchUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Batch, on_delete=models.CASCADE)


class BatchGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Batch, on_delete=models.CASCADE)
