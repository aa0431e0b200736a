from django.apps import AppConfig


class ManufacturingConfig(AppConfig):
    name = "atmp_clinic.manufacturing"
    verbose_name = "Chain of identity"
