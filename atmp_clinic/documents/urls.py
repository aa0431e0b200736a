from django.urls import path

from . import views

urlpatterns = [
    path("reports/annual/", views.annual_reports, name="annual-reports"),
    path("reports/annual/jobs/<int:pk>/", views.annual_report_job, name="annual-report-job"),
    path(
        "reports/annual/jobs/<int:pk>/report.pdf",
        views.annual_report_job_download,
        name="annual-report-job-download",
    ),
    path(
        "reports/annual/issued/<int:document_pk>.pdf", views.issued_annual_report, name="issued-annual-report"
    ),
]
