from django.core.management.base import BaseCommand, CommandError

from atmp_clinic.audit.models import AuditEvent
from atmp_clinic.audit.selectors import chain_breaks


class Command(BaseCommand):
    help = "Check that no audit event was edited, removed or reordered."

    def handle(self, *args, **options):
        problems = chain_breaks()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"the audit chain is broken in {len(problems)} places")
        self.stdout.write(f"audit chain intact: {AuditEvent.objects.count()} events")
