from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from atmp_clinic.accounts.demo import DEMO_PASSWORD, seed_organisations_and_users


class Command(BaseCommand):
    help = "Create the demo organisations and users of SPEC §7 (idempotent)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates users with a published password: refused in production")
        created = seed_organisations_and_users()
        self.stdout.write(
            f"demo ready: {created['organisations']} organisations and {created['users']} users created "
            f"(existing ones left as they were); every demo user's password is {DEMO_PASSWORD}"
        )
