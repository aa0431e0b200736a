from django.urls import path

from . import dashboard_views

urlpatterns = [
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/survival.png", dashboard_views.survival_png, name="dashboard-survival"),
    path("dashboard/adverse-events.png", dashboard_views.adverse_events_png, name="dashboard-adverse-events"),
]
