from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "atmp_clinic.audit"
    verbose_name = "Audit trail and signatures"
