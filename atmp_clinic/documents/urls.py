from django.urls import path

from . import views

urlpatterns = [
    path("reports/annual/", views.annual_reports, name="annual-reports"),
    path(
        "reports/annual/<int:hospital_pk>/<int:year>.pdf", views.annual_report_pdf, name="annual-report-pdf"
    ),
    path(
        "reports/annual/issued/<int:document_pk>.pdf", views.issued_annual_report, name="issued-annual-report"
    ),
]
