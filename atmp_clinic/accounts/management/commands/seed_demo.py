from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from atmp_clinic.accounts.demo import DEMO_PASSWORD, seed_organisations_and_users, seed_second_factors
from atmp_clinic.exemptions.demo import seed_requests
from atmp_clinic.manufacturing.demo import seed_chains
from atmp_clinic.patients.demo import seed_patients
from atmp_clinic.products.demo import seed_products


class Command(BaseCommand):
    help = "Create the demo of SPEC §7: organisations, users, catalogue, patients and requests (idempotent)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates users with a published password: refused in production")
        created = seed_organisations_and_users()
        products = seed_products()
        patients = seed_patients()
        requests = seed_requests()
        chains = seed_chains()
        seed_second_factors()
        self.stdout.write(
            f"demo ready: {created['organisations']} organisations, {created['users']} users, "
            f"{products} products, {patients} patients, {requests} exemption requests and {chains} chains "
            "of identity created "
            "(existing ones left as they were); "
            f"every demo user's password is {DEMO_PASSWORD}"
        )
