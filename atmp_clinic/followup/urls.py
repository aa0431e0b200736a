from django.urls import path, re_path

from . import views

# Only the steps there are: visits/<pk>/outcome/ and the like belong to other apps.
STEP = "|".join(views.VISIT_STEPS)

urlpatterns = [
    path("visits/<int:pk>/", views.visit_detail, name="visit-detail"),
    re_path(rf"^visits/(?P<pk>[0-9]+)/(?P<step>{STEP})/$", views.visit_step, name="visit-step"),
    path("visits/<int:pk>/record/draft/", views.visit_record_draft, name="visit-record-draft"),
    path("plans/<int:pk>/", views.plan_detail, name="plan-detail"),
    path("plans/<int:pk>/amend/", views.plan_amend, name="plan-amend"),
    path("plans/<int:pk>/schedule.pdf", views.plan_schedule_pdf, name="plan-schedule"),
    path("my/visits.ics", views.own_calendar, name="own-calendar"),
    path("my/schedule.pdf", views.own_schedule_pdf, name="own-schedule"),
    path("my/reminders/", views.own_reminder_channels, name="own-reminder-channels"),
]
