from django.urls import path

from . import views

urlpatterns = [
    path("visits/<int:pk>/", views.visit_detail, name="visit-detail"),
    path("visits/<int:pk>/<str:step>/", views.visit_step, name="visit-step"),
    path("plans/<int:pk>/", views.plan_detail, name="plan-detail"),
    path("plans/<int:pk>/amend/", views.plan_amend, name="plan-amend"),
    path("my/visits.ics", views.own_calendar, name="own-calendar"),
    path("my/reminders/", views.own_reminder_channels, name="own-reminder-channels"),
]
