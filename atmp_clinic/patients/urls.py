from django.urls import path

from . import views

urlpatterns = [
    path("", views.patient_list, name="patient-list"),
    path("new/", views.patient_create, name="patient-create"),
    path("<int:pk>/", views.patient_detail, name="patient-detail"),
    path("<int:pk>/consents/", views.consent_create, name="consent-create"),
    path("<int:pk>/consents/<int:consent_pk>/withdraw/", views.consent_withdraw, name="consent-withdraw"),
    path("<int:pk>/death/", views.patient_death, name="patient-death"),
]
