from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "atmp_clinic.followup"
    verbose_name = "Long-term follow-up"
