from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "atmp_clinic.products"
    verbose_name = "ATMP catalogue"
