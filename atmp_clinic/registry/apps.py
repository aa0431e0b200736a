from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "atmp_clinic.registry"
    verbose_name = "Registry: outcomes and adverse events"
