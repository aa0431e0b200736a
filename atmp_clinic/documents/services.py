"""Issuing documents: each PDF handed out is stored with its SHA-256 and audited, so a copy can be
verified later against the record of what was issued."""

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext

from atmp_clinic.accounts.models import Organisation, User
from atmp_clinic.audit.services import record_event
from atmp_clinic.celery import delay_or_leave_for_sweep

from . import annual_report
from .models import AnnualReportJob, DocumentKind, IssuedDocument
from .selectors import FIRST_YEAR, annual_report_hospitals, hospitals_to_report

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


# --- Annual reports asked for on the page, built by a worker -------------------------------------

NOT_YOUR_HOSPITAL = "Only the hospital's staff and its country's authority have its annual report."
WORKER_LOST = "The worker stopped before the report was built."


@transaction.atomic
def annual_report_request(*, actor: User, hospital: Organisation, year: int) -> AnnualReportJob:
    """Someone who may have the hospital's report asks for it; a worker builds it (annual_report_run)
    in the language of the page they asked from."""
    if not annual_report_hospitals(user=actor).filter(pk=hospital.pk).exists():
        raise PermissionDenied(NOT_YOUR_HOSPITAL)
    if not FIRST_YEAR <= year <= timezone.localdate().year:
        raise ValidationError({"year": gettext("Choose one of the years listed.")})
    job = AnnualReportJob.objects.create(
        requested_by=actor,
        hospital=hospital,
        year=year,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        steps=annual_report.BUILD_STEPS,
    )
    record_event(
        actor=actor, obj=job, action="annual_report_requested", after={"hospital": hospital.pk, "year": year}
    )
    transaction.on_commit(lambda: _enqueue_annual_report(job.pk))
    return job


def _enqueue_annual_report(job_id: int) -> None:
    from .tasks import run_annual_report  # tasks import this module

    delay_or_leave_for_sweep(run_annual_report, job_id)


def annual_reports_waiting(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Jobs still queued a while after they were asked for: enqueued while the broker was down."""
    cutoff = timezone.now() - older_than
    return list(
        AnnualReportJob.objects.filter(status=AnnualReportJob.Status.QUEUED, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )


def annual_reports_abandoned_fail(*, older_than: timedelta | None = None) -> list[int]:
    """Fail the jobs still running past the task's time limit: their worker died (killed at the
    limit, or lost), and the redelivered task leaves a running job alone, so without this the page
    would wait for ever instead of letting its reader ask again."""
    cutoff = timezone.now() - (older_than or timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT))
    failed = []
    for job in AnnualReportJob.objects.filter(status=AnnualReportJob.Status.RUNNING, started_at__lt=cutoff):
        with transaction.atomic():
            # Conditional, so a build that ends meanwhile keeps its document.
            if AnnualReportJob.objects.filter(pk=job.pk, status=AnnualReportJob.Status.RUNNING).update(
                status=AnnualReportJob.Status.FAILED, error=WORKER_LOST, finished_at=timezone.now()
            ):
                record_event(actor=None, obj=job, action="annual_report_failed", after={"error": WORKER_LOST})
                failed.append(job.pk)
    return failed


def annual_report_run(job_id: int) -> AnnualReportJob | None:
    """Build the report with its steps shown on the job, and issue it to the person who asked. Runs
    once: a redelivered task finds the job no longer queued. A failure is kept on the job, for the
    page to say so, and raised again, for the worker's log and metrics."""
    if not AnnualReportJob.objects.filter(pk=job_id, status=AnnualReportJob.Status.QUEUED).update(
        status=AnnualReportJob.Status.RUNNING, started_at=timezone.now()
    ):
        return None
    job = AnnualReportJob.objects.select_related("hospital", "requested_by").get(pk=job_id)

    def progress(done: int, steps: int) -> None:
        # An UPDATE of its own (outside any transaction), so the page sees each step as it passes.
        AnnualReportJob.objects.filter(pk=job.pk).update(step=done)

    try:
        with translation.override(job.language):
            built = annual_report.build(job.hospital, job.year, progress=progress)
        with transaction.atomic():
            document = document_issue(
                kind=DocumentKind.ANNUAL_REPORT,
                record=job.hospital,
                pdf=built.pdf,
                title=built.title,
                filename=built.filename,
                actor=job.requested_by,
            )
            job.status, job.document, job.step, job.finished_at = (
                AnnualReportJob.Status.DONE,
                document,
                job.steps,
                timezone.now(),
            )
            job.save(update_fields=["status", "document", "step", "finished_at"])
            record_event(
                actor=None, obj=job, action="annual_report_built", after={"document_id": document.pk}
            )
    except Exception as error:
        job.status, job.error, job.finished_at = (
            AnnualReportJob.Status.FAILED,
            f"{error.__class__.__name__}: {error}",
            timezone.now(),
        )
        with transaction.atomic():
            job.save(update_fields=["status", "error", "finished_at"])
            record_event(actor=None, obj=job, action="annual_report_failed", after={"error": job.error})
        raise
    logger.info("annual report %s of hospital %s built for job %s", job.year, job.hospital_id, job.pk)
    return job
