from django.urls import path

from . import views

urlpatterns = [
    path("visits/<int:pk>/outcome/", views.visit_outcome, name="visit-outcome"),
    path("visits/<int:pk>/outcome/draft/", views.visit_outcome_draft, name="visit-outcome-draft"),
    path("plans/<int:pk>/adverse-events/new/", views.adverse_event_new, name="adverse-event-new"),
    path("adverse-events/<int:pk>/", views.adverse_event_detail, name="adverse-event-detail"),
    path("expedited-reports/<int:pk>/", views.expedited_report_detail, name="expedited-report-detail"),
    path("expedited-reports/<int:pk>/submit/", views.expedited_report_submit, name="expedited-report-submit"),
    path(
        "expedited-reports/<int:pk>/acknowledge/",
        views.expedited_report_acknowledge,
        name="expedited-report-acknowledge",
    ),
    path("registry/exports/", views.export_list, name="export-list"),
    path("registry/exports/<int:pk>/", views.export_job, name="export-job"),
    path("registry/exports/<int:pk>/download/", views.export_download, name="export-download"),
]
