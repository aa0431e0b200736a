from django.apps import AppConfig


class ExemptionsConfig(AppConfig):
    name = "atmp_clinic.exemptions"
    verbose_name = "Hospital-exemption requests"
