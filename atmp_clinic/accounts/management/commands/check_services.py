from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from atmp_clinic.health import check_broker, check_database


class Command(BaseCommand):
    help = "Check that the database and the broker answer; one line naming the one that does not."

    def handle(self, *args, **options):
        failures = [
            f"{name} ({value}) does not answer: {result}"
            for name, value, result in (
                ("DATABASE_URL", settings.DATABASE_URL, check_database()),
                ("CELERY_BROKER_URL", settings.CELERY_BROKER_URL, check_broker()),
            )
            if result != "ok"
        ]
        if failures:
            raise CommandError("; ".join(failures))
        self.stdout.write("database and broker answer")
