"""deploy/backup.sh and deploy/restore.sh, round trip: records of every app (the demo, then a patient
taken from request to follow-up, an attachment, an adverse event, an export and an annual report,
all through the services) backed up from the test database, restored into a new database and media
folder, and found there whole: every table's rows, every file, and an audit chain that verifies."""

import hashlib
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from psycopg import sql

from atmp_clinic.audit.models import AuditEvent
from atmp_clinic.documents import services as document_services
from atmp_clinic.registry import services as registry_services
from tests.conftest import PROJECT_DIR, database_url_of_the_test, require_service, run_manage
from tests.exemptions.conftest import new_draft, user
from tests.exemptions.test_attachments import attach, pdf
from tests.followup.conftest import enrolled_patient, plan_for

pytestmark = pytest.mark.services

BACKUP = PROJECT_DIR / "deploy" / "backup.sh"
RESTORE = PROJECT_DIR / "deploy" / "restore.sh"


@pytest.fixture
def postgres_tools():
    """pg_dump, pg_restore and psql (Debian's postgresql-client), on a PostgreSQL test database."""
    missing = [tool for tool in ("pg_dump", "pg_restore", "psql") if shutil.which(tool) is None]
    require_service("PostgreSQL's client tools", f"{', '.join(missing)} not on the PATH" if missing else None)
    require_service(
        "PostgreSQL", None if connection.vendor == "postgresql" else "the test database is SQLite"
    )


@pytest.fixture
def empty_database(postgres_tools):
    """A new database beside the test database, named after it; dropped at the end. Its URL."""
    source = urlsplit(database_url_of_the_test())
    name = f"{connection.settings_dict['NAME'].removeprefix('test_')}_restored_{uuid.uuid4().hex[:8]}"
    maintenance = urlunsplit(source._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield urlunsplit(source._replace(path=f"/{name}"))
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def records(transactional_db, demo, settings, tmp_path) -> Path:
    """Committed records of every app, so that pg_dump (another process) sees them; their media
    folder. The demo brings organisations, users, products, patients, requests and chains."""
    settings.MEDIA_ROOT = tmp_path / "media"
    plan = plan_for(enrolled_patient())  # a request approved, collected, released, given; its visits
    attach(new_draft(), pdf(pages=2))
    registry_services.adverse_event_record(
        actor=user("clinician"), plan=plan, term="Pyrexia", onset_on=timezone.localdate(),
        relatedness="possible", outcome="recovering", grade=2,
    )  # fmt: skip
    registry_services.export_request(actor=user("analyst"), format="adverse_events")  # run at once here
    document_services.annual_reports_issue(year=timezone.localdate().year)  # this year's, with the above
    return settings.MEDIA_ROOT


def script(path: Path, *args: str, database_url: str, media_root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(path), *args],
        # Nothing of the suite's environment but PATH: the scripts need no more than they document.
        env={"PATH": os.environ["PATH"], "DATABASE_URL": database_url, "MEDIA_ROOT": str(media_root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def row_counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        tables = [
            row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        count = sql.SQL("SELECT count(*) FROM {}")
        return {table: conn.execute(count.format(sql.Identifier(table))).fetchone()[0] for table in tables}


def files(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_a_backup_restores_every_row_file_and_the_audit_chain(records, empty_database, tmp_path):
    source_url = database_url_of_the_test()
    started = time.monotonic()
    backed_up = script(BACKUP, str(tmp_path / "backups"), database_url=source_url, media_root=records)
    backup_seconds = time.monotonic() - started
    assert backed_up.returncode == 0, backed_up.stderr
    folder = Path(backed_up.stdout.strip().splitlines()[-1])

    restored_media = tmp_path / "restored-media"
    started = time.monotonic()
    restored = script(RESTORE, str(folder), database_url=empty_database, media_root=restored_media)
    restore_seconds = time.monotonic() - started
    assert restored.returncode == 0, restored.stderr

    source, copy = row_counts(source_url), row_counts(empty_database)
    # The figures for deploy/README.md; `pytest -s` shows them.
    print(
        f"backup {backup_seconds:.2f} s, restore {restore_seconds:.2f} s: {len(source)} tables, "
        f"{sum(source.values())} rows, {len(files(records))} media files, "
        f"dump {(folder / 'database.dump').stat().st_size / 1024:.0f} KiB"
    )
    assert copy == source
    assert files(restored_media) == files(records)
    verified = run_manage("verify_audit_chain", env={"DATABASE_URL": empty_database})
    assert (verified.returncode, verified.stdout.strip()) == (
        0,
        f"audit chain intact: {AuditEvent.objects.count()} events",
    ), verified.stderr


def test_the_records_cover_every_app(records):
    """What the round trip above proves is only as wide as the rows it carried."""
    counts = row_counts(database_url_of_the_test())
    apps = (
        "accounts",
        "products",
        "patients",
        "exemptions",
        "manufacturing",
        "followup",
        "registry",
        "documents",
        "audit",
    )
    empty_apps = [app for app in apps if not any(n for t, n in counts.items() if t.startswith(f"{app}_"))]
    folders = {Path(name).parts[0] for name in files(records)}  # attachments, exports, issued PDFs
    assert (empty_apps, folders) == ([], {"requests", "exports", "documents"})


def test_a_restore_refuses_a_database_that_has_tables(postgres_tools, db, tmp_path):
    source_url = database_url_of_the_test()
    (tmp_path / "media").mkdir()
    backed_up = script(
        BACKUP, str(tmp_path / "backups"), database_url=source_url, media_root=tmp_path / "media"
    )
    folder = backed_up.stdout.strip().splitlines()[-1]
    refused = script(RESTORE, folder, database_url=source_url, media_root=tmp_path / "restored")
    assert (refused.returncode, "restore into a new, empty one" in refused.stderr) == (1, True)
