"""Issuing documents: each PDF handed out is stored with its SHA-256 and audited, so a copy can be
verified later against the record of what was issued."""

import hashlib

from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import models, transaction

from atmp_clinic.accounts.models import User
from atmp_clinic.audit.services import record_event

from .models import IssuedDocument


@transaction.atomic
def document_issue(
    *, kind: str, record: models.Model, pdf: bytes, title: str, filename: str, actor: User | None
) -> IssuedDocument:
    """Store a built PDF as issued for `record` (by `actor`, or by a task when None) and audit it."""
    document = IssuedDocument(
        kind=kind,
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        title=title,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        issued_by=actor,
    )
    document.file.save(filename, ContentFile(pdf), save=False)
    document.save()
    record_event(
        actor=actor,
        obj=record,
        action="document_issued",
        after={"kind": kind, "title": title, "sha256": document.sha256, "document_id": document.pk},
    )
    return document
