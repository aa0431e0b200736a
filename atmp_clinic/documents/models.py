"""Every PDF the platform hands out is recorded here with the SHA-256 of its bytes, so a printed or
e-mailed copy can be checked later against what was issued (`manage.py verify_document FILE`)."""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from atmp_clinic.accounts.models import Organisation, User
from atmp_clinic.audit.models import AppendOnlyError, AppendOnlyQuerySet
from atmp_clinic.registry.models import ExportJob


class DocumentKind(models.TextChoices):
    REQUEST_DOSSIER = "request_dossier", _("Request dossier")
    DECISION_LETTER = "decision_letter", _("Decision letter")
    BATCH_CERTIFICATE = "batch_certificate", _("Batch release certificate")
    VISIT_SCHEDULE = "visit_schedule", _("Visit schedule letter")
    ANNUAL_REPORT = "annual_report", _("Annual hospital-exemption report")
    AUDIT_TRAIL = "audit_trail", _("Audit trail of a record")


def _document_path(document: "IssuedDocument", filename: str) -> str:
    return f"documents/{document.kind}/{timezone.now():%Y/%m}/{filename}"


class IssuedDocument(models.Model):
    """A document as it was issued: its file, its hash, the record it belongs to, who asked for it.
    Never changed or deleted; a document built again is a new row (with the same hash when the
    content did not change, as rendering is invariant)."""

    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.BigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to=_document_path)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveIntegerField()
    issued_at = models.DateTimeField(default=timezone.now, editable=False)
    issued_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when a task built it."),
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "kind"], name="document_record")]

    def __str__(self) -> str:
        return f"{self.title} ({self.issued_at:%Y-%m-%d %H:%M} UTC)"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("issued documents are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("issued documents are never deleted")


class AnnualReportJob(models.Model):
    """An annual report asked for on the reports page and built by a worker (a big hospital's takes
    minutes, longer than a request may): the page shows its steps as they pass, then the document
    it issued, which the person who asked downloads."""

    # The registry exports' states, so that every long task reads the same to the people waiting.
    Status = ExportJob.Status

    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    hospital = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    language = models.CharField(max_length=10, help_text=_("The language of the page it was asked from."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    step = models.PositiveSmallIntegerField(default=0, help_text=_("Build steps done."))
    steps = models.PositiveSmallIntegerField()
    document = models.ForeignKey(
        IssuedDocument, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(step__lte=F("steps")), name="annual_report_job_step_within"),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(document__isnull=False),
                name="annual_report_job_done_has_document",
            ),
        ]
        indexes = [
            # The sweep's look-up: the few jobs still waiting among all those ever asked for.
            models.Index(fields=["created_at"], condition=Q(status="queued"), name="annual_report_job_queued")
        ]

    def __str__(self) -> str:
        return f"Annual report {self.year} of {self.hospital} asked for {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def working(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
