"""What every document download does once its record was found (with the record page's own
permission, 404 otherwise): build it, record it as issued, send it as an attachment. The annual
report, too slow to build in a request, is asked for here and built by a worker instead."""

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from atmp_clinic.registry.selectors import minutes_waiting_for_a_worker

from .forms import AnnualReportForm
from .models import AnnualReportJob
from .pdf import Built
from .selectors import annual_report_hospitals, annual_report_jobs, issued_annual_reports, report_years
from .services import annual_report_request, document_issue


def issued_pdf(
    request: HttpRequest, *, kind: str, record: models.Model, build: Callable[[], Built]
) -> HttpResponse:
    built = build()
    document_issue(
        kind=kind,
        record=record,
        pdf=built.pdf,
        title=built.title,
        filename=built.filename,
        actor=request.user,
    )
    response = HttpResponse(built.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{built.filename}"'
    return response


# --- The annual hospital-exemption report --------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def annual_reports(request: HttpRequest) -> HttpResponse:
    """The reports the yearly task issued, the reports the user asked for, and a form to ask for one
    of any hospital and year (a worker builds it); a page that does not exist for whoever may have
    no hospital's report."""
    hospitals = annual_report_hospitals(user=request.user)
    if not hospitals.exists():
        raise Http404
    years = report_years(hospitals=hospitals, today=timezone.localdate())
    form = AnnualReportForm(request.POST or None, hospitals=hospitals, years=years)
    if form.is_valid():
        job = annual_report_request(
            actor=request.user, hospital=form.cleaned_data["hospital"], year=form.cleaned_data["year"]
        )
        return redirect("annual-report-job", pk=job.pk)
    hospital_names = dict(hospitals.values_list("pk", "name"))
    issued = [
        (document, hospital_names[document.object_id])
        for document in issued_annual_reports(user=request.user)
    ]
    context = {"form": form, "issued": issued, "jobs": annual_report_jobs(user=request.user)[:20]}
    return render(request, "documents/annual_reports.html", context)


@require_GET
@login_required
def annual_report_job(request: HttpRequest, pk: int) -> HttpResponse:
    """A report asked for: its steps while a worker builds it (the page refreshes itself), then its
    download; after a failure, a way to ask again."""
    job = get_object_or_404(annual_report_jobs(user=request.user), pk=pk)
    return render(
        request,
        "documents/annual_report_job.html",
        {"job": job, "waiting_minutes": minutes_waiting_for_a_worker(job)},
    )


@require_GET
@login_required
def annual_report_job_download(request: HttpRequest, pk: int) -> FileResponse:
    """The report as it was issued to the person who asked, byte for byte."""
    job = get_object_or_404(annual_report_jobs(user=request.user), pk=pk, status=AnnualReportJob.Status.DONE)
    return FileResponse(
        job.document.file.open("rb"),
        as_attachment=True,
        filename=job.document.file.name.rsplit("/", 1)[-1],
        content_type="application/pdf",
    )


@require_GET
@login_required
def issued_annual_report(request: HttpRequest, document_pk: int) -> FileResponse:
    """A report as the yearly task issued it, byte for byte."""
    document = get_object_or_404(issued_annual_reports(user=request.user), pk=document_pk)
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.file.name.rsplit("/", 1)[-1],
        content_type="application/pdf",
    )
