from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP

from atmp_clinic.accounts.demo import DEMO_AUTHENTICATOR_KEY, DEMO_AUTHENTICATOR_SECRET


class Command(BaseCommand):
    help = "The code the demo's authenticator shows now (demo pharmacists, reviewers and the administrator)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("demo_code is for the demo only: refused in production")
        totp = TOTP(bytes.fromhex(DEMO_AUTHENTICATOR_KEY))
        seconds_left = totp.step - int(totp.time - totp.t0) % totp.step
        self.stdout.write(
            f"{totp.token():06d}  (valid for {seconds_left} more seconds; each code works once per user; "
            f"authenticator key {DEMO_AUTHENTICATOR_SECRET})"
        )
