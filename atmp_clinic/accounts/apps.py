from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "atmp_clinic.accounts"
    verbose_name = "Accounts and organisations"
