import logging

from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "atmp_clinic.observability"
    verbose_name = "Logs and metrics"

    def ready(self) -> None:
        # Python's warnings (Celery's about running as root, deprecations) become log lines too,
        # formatted as every other line is, instead of raw text on stderr.
        logging.captureWarnings(True)
        # Connected here, not in celery.py, so that web processes (which publish) and workers (which
        # run tasks) both get them: Celery's Django fixup sets Django up in the worker before forking.
        from django.core.signals import request_finished

        from . import celery_signals  # noqa: F401
        from .middleware import clear_request_id

        request_finished.connect(clear_request_id, dispatch_uid="observability-clear-request-id")
