from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "atmp_clinic.documents"
    verbose_name = "Documents: the PDFs hospitals, authorities and patients keep"
