"""Issuing documents: each PDF handed out is stored with its SHA-256 and audited, so a copy can be
verified later against the record of what was issued."""

import hashlib
import logging

from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.db.models import QuerySet

from atmp_clinic.accounts.models import Organisation, User
from atmp_clinic.audit.services import record_event

from . import annual_report
from .models import DocumentKind, IssuedDocument
from .selectors import hospitals_to_report

logger = logging.getLogger(__name__)


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


def _issued_by_task(hospital: Organisation, year: int) -> QuerySet[IssuedDocument]:
    return IssuedDocument.objects.filter(
        kind=DocumentKind.ANNUAL_REPORT,
        content_type=ContentType.objects.get_for_model(Organisation),
        object_id=hospital.pk,
        issued_by__isnull=True,
        title=annual_report.title(hospital, year),
    )


def annual_reports_issue(*, year: int) -> list[int]:
    """Issue the year's report of every hospital that owes one and has none issued yet; returns the
    hospitals issued now. Each hospital is locked while its report is built, so two runs at once
    (a redelivered task, a second beat) issue it once."""
    issued = []
    for hospital_id in hospitals_to_report(year=year).values_list("pk", flat=True):
        with transaction.atomic():
            hospital = Organisation.objects.select_for_update().get(pk=hospital_id)
            if _issued_by_task(hospital, year).exists():
                continue
            built = annual_report.build(hospital, year)
            document_issue(
                kind=DocumentKind.ANNUAL_REPORT,
                record=hospital,
                pdf=built.pdf,
                title=built.title,
                filename=built.filename,
                actor=None,
            )
        logger.info("annual report %s issued for hospital %s", year, hospital_id)
        issued.append(hospital_id)
    return issued
