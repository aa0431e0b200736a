from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "atmp_clinic.patients"
    verbose_name = "Patients"
