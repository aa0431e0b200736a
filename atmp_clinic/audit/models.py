"""The audit trail and electronic signatures.

Audit events are append-only and hash-chained: each carries the hash of the one before, so an
edited, removed or reordered event breaks the chain (`manage.py verify_audit_chain`)."""

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from atmp_clinic.accounts.models import User


class AppendOnlyError(Exception):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk update and delete (and bulk_update, which goes through update) never call the model's
    save or delete, so they are refused here too. Django's own deletion collector and the loading of
    serialized data use the private _raw_delete and _update, which stay open: a delete that reaches
    the table is refused there, by the PostgreSQL trigger."""

    def update(self, **kwargs) -> int:
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} are never changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} are never deleted")


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(default=timezone.now, editable=False)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.BigIntegerField()
    object_repr = models.CharField(max_length=200)
    action = models.CharField(max_length=60)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["content_type", "object_id", "id"], name="audit_event_object")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("audit events are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are never deleted")


class AuditChainHead(models.Model):
    """One row: the hash of the newest event. Locking it orders concurrent writers."""

    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.last_hash


class SignatureMeaning(models.TextChoices):
    CO_SIGNED = "co_signed", _("Co-signed (responsible physician)")
    SUBMITTED = "submitted", _("Submitted (hospital pharmacist)")
    DECIDED = "decided", _("Decided (authority)")
    RELEASED = "released", _("Released (qualified person)")
    EXCEPTIONAL_RELEASE = "exceptional_release", _("Exceptional release justified (responsible physician)")


class Signature(models.Model):
    """An electronic signature: who signed what, meaning what, and the hash of what they saw."""

    signer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="signatures")
    printed_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField(default=timezone.now, editable=False)
    meaning = models.CharField(max_length=20, choices=SignatureMeaning.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.BigIntegerField()
    content_hash = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["signed_at"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="signature_object")]

    def __str__(self) -> str:
        return f"{self.printed_name}, {self.get_meaning_display()}, {self.signed_at:%Y-%m-%d %H:%M} UTC"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("signatures are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("signatures are never deleted")
