"""What every document download does once its record was found (with the record page's own
permission, 404 otherwise): build it, record it as issued, send it as an attachment."""

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from . import annual_report
from .forms import AnnualReportForm
from .models import DocumentKind
from .pdf import Built
from .selectors import FIRST_YEAR, annual_report_hospitals, issued_annual_reports, report_years
from .services import document_issue


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


@require_GET
@login_required
def annual_reports(request: HttpRequest) -> HttpResponse:
    """The reports the yearly task issued, and a form to build one for any hospital and year;
    a page that does not exist for whoever may have no hospital's report."""
    hospitals = annual_report_hospitals(user=request.user)
    if not hospitals.exists():
        raise Http404
    years = report_years(hospitals=hospitals, today=timezone.localdate())
    form = AnnualReportForm(request.GET or None, hospitals=hospitals, years=years)
    if form.is_valid():
        return redirect(
            "annual-report-pdf", hospital_pk=form.cleaned_data["hospital"].pk, year=form.cleaned_data["year"]
        )
    hospital_names = dict(hospitals.values_list("pk", "name"))
    issued = [
        (document, hospital_names[document.object_id])
        for document in issued_annual_reports(user=request.user)
    ]
    return render(request, "documents/annual_reports.html", {"form": form, "issued": issued})


@require_GET
@login_required
def annual_report_pdf(request: HttpRequest, hospital_pk: int, year: int) -> HttpResponse:
    """The report built now, as the records stand, and issued to the person who asked."""
    hospital = get_object_or_404(annual_report_hospitals(user=request.user), pk=hospital_pk)
    if not FIRST_YEAR <= year <= timezone.localdate().year:
        raise Http404
    return issued_pdf(
        request,
        kind=DocumentKind.ANNUAL_REPORT,
        record=hospital,
        build=lambda: annual_report.build(hospital, year),
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
