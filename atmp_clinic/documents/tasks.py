import logging

from django.utils import timezone

from atmp_clinic.celery import app

from . import services

logger = logging.getLogger(__name__)


@app.task(name="documents.issue_annual_reports")
def issue_annual_reports(year: int | None = None) -> list[int]:
    """On 31 January (beat): the previous year's report of every hospital that owes one, issued
    for its authority to download. Safe to run again: a hospital's report is issued once a year."""
    year = year or timezone.localdate().year - 1
    issued = services.annual_reports_issue(year=year)
    logger.info("annual reports %s: %d issued", year, len(issued))
    return issued


@app.task(name="documents.run_annual_report")
def run_annual_report(job_id: int) -> int | None:
    job = services.annual_report_run(job_id)
    return job.document_id if job else None


@app.task(name="documents.run_waiting_annual_reports")
def run_waiting_annual_reports() -> int:
    """Every few minutes (beat): reports asked for while the broker was down; and those whose
    worker died, failed so that they can be asked for again."""
    services.annual_reports_abandoned_fail()
    waiting = services.annual_reports_waiting()
    for job_id in waiting:
        run_annual_report.delay(job_id)
    return len(waiting)
