"""Check a PDF against the record of the documents issued: exit 0 when these exact bytes were issued
(and say for what, when and to whom), 1 when they were not (changed, or never issued here)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from atmp_clinic.documents.selectors import issued_with_hash


class Command(BaseCommand):
    help = "Verify that a PDF is, byte for byte, a document this platform issued."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            with file.open("rb") as handle:
                sha256, issued = issued_with_hash(iter(lambda: handle.read(1 << 16), b""))
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        if not issued:
            raise CommandError(
                f"NOT VERIFIED: no document with SHA-256 {sha256} was issued. "
                "The file was changed after it was issued, or it was not issued here."
            )
        first = issued[-1]
        record = first.record
        self.stdout.write(
            f'VERIFIED: {first.get_kind_display()} "{first.title}" for {first.content_type.name} '
            f"{record} (id {first.object_id}), SHA-256 {sha256}, first issued "
            f"{first.issued_at:%Y-%m-%d %H:%M:%S} UTC"
            + (f" to {first.issued_by}" if first.issued_by else " by a scheduled task")
            + (f"; issued {len(issued)} times in all." if len(issued) > 1 else ".")
        )
