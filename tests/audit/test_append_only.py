"""The audit trail, the signatures and the issued documents are append-only in the ORM and, on
PostgreSQL, in the database; verify_audit_chain names any event edited, removed or reordered."""

from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, models, transaction

from atmp_clinic.audit.models import AppendOnlyError, AuditEvent, Signature
from atmp_clinic.documents.models import DocumentKind, IssuedDocument
from atmp_clinic.documents.services import document_issue
from atmp_clinic.exemptions.models import ExemptionRequest
from tests.conftest import require_service

APPEND_ONLY_TABLES = [model._meta.db_table for model in (AuditEvent, Signature, IssuedDocument)]


@pytest.fixture
def postgresql() -> None:
    require_service("PostgreSQL", None if connection.vendor == "postgresql" else "the suite runs on SQLite")


@pytest.fixture
def issued(demo, settings, tmp_path) -> IssuedDocument:
    settings.MEDIA_ROOT = tmp_path
    request = ExemptionRequest.objects.order_by("id").first()
    return document_issue(
        kind=DocumentKind.REQUEST_DOSSIER,
        record=request,
        pdf=b"%PDF-1.7 issued once",
        title="Request dossier",
        filename="dossier.pdf",
        actor=None,
    )


@contextmanager
def tampering(table: str) -> Iterator[None]:
    """What someone with the database owner's rights could do: switch the trigger off, write, and
    switch it back on. SQLite has no trigger to switch."""
    if connection.vendor != "postgresql":
        yield
        return
    settle_foreign_key_checks()
    sql(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
    try:
        yield
    finally:
        settle_foreign_key_checks()
        sql(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")


def settle_foreign_key_checks() -> None:
    """PostgreSQL will not ALTER or TRUNCATE a table while foreign key checks on it wait for the
    commit (Django defers them); run them now, as the commit would."""
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    sql("SET CONSTRAINTS ALL DEFERRED")


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def columns(row: models.Model) -> dict:
    return {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}


def verify_audit_chain() -> tuple[str, str]:
    """The command's error and what it wrote to stderr."""
    stderr = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("verify_audit_chain", stderr=stderr)
    return str(refused.value), stderr.getvalue()


def described(event: AuditEvent) -> str:
    return f"event {event.id} ({event.action}, {event.content_type.model} {event.object_id} {event.object_repr!r})"


# --- the database refuses (PostgreSQL) ---


@pytest.mark.parametrize(
    ("model", "change"),
    [
        (AuditEvent, "UPDATE {table} SET reason = 'rewritten' WHERE id = %s"),
        (AuditEvent, "DELETE FROM {table} WHERE id = %s"),
        (Signature, "UPDATE {table} SET printed_name = 'Someone else' WHERE id = %s"),
        (Signature, "DELETE FROM {table} WHERE id = %s"),
        (IssuedDocument, "UPDATE {table} SET sha256 = 'forged' WHERE id = %s"),
        (IssuedDocument, "DELETE FROM {table} WHERE id = %s"),
    ],
)
def test_the_database_refuses_to_change_or_delete_an_append_only_row(postgresql, issued, model, change):
    table = model._meta.db_table
    row = model.objects.order_by("id").first()
    refusal = f"{table} is append-only: {change.split()[0]} refused by trigger {table}_append_only"
    with pytest.raises(DatabaseError, match=refusal), transaction.atomic():
        sql(change.format(table=table), [row.pk])
    assert columns(model.objects.get(pk=row.pk)) == columns(row)


def test_truncate_still_empties_the_tables_as_the_test_framework_does(postgresql, issued):
    settle_foreign_key_checks()
    with transaction.atomic():
        sql(f"TRUNCATE {', '.join(APPEND_ONLY_TABLES)} CASCADE")
        assert not AuditEvent.objects.exists() and not Signature.objects.exists()
        assert not IssuedDocument.objects.exists()
        transaction.set_rollback(True)
    assert AuditEvent.objects.exists()


# --- the ORM refuses ---


@pytest.mark.parametrize("model", [AuditEvent, Signature, IssuedDocument])
def test_the_orm_refuses_bulk_update_and_delete(issued, model):
    rows = model.objects.filter(pk=model.objects.order_by("id").first().pk)
    with pytest.raises(AppendOnlyError, match="never changed"):
        rows.update(object_id=0)
    # bulk_update's own atomic block has no savepoint: the refusal would spoil the test's transaction.
    with pytest.raises(AppendOnlyError, match="never changed"), transaction.atomic():
        model.objects.bulk_update(list(rows), ["object_id"])
    with pytest.raises(AppendOnlyError, match="never deleted"):
        rows.delete()
    assert rows.get().object_id != 0


# --- verify_audit_chain ---


def test_an_intact_chain_passes(demo):
    stdout = StringIO()
    call_command("verify_audit_chain", stdout=stdout)
    assert f"audit chain intact: {AuditEvent.objects.count()} events" in stdout.getvalue()


def test_an_edited_event_is_named(demo):
    event = AuditEvent.objects.select_related("content_type").order_by("id")[3]
    with tampering("audit_auditevent"):
        sql("UPDATE audit_auditevent SET reason = 'rewritten' WHERE id = %s", [event.pk])
    error, stderr = verify_audit_chain()
    assert error == "the audit chain is broken in 1 places"
    assert stderr.splitlines() == [f"{described(event)}: its content was changed after it was written"]


def test_an_edited_event_with_its_hash_rewritten_is_found_by_the_next_one(demo):
    edited, following = AuditEvent.objects.select_related("content_type").order_by("id")[3:5]
    with tampering("audit_auditevent"):
        sql("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["f" * 64, edited.pk])
    _, stderr = verify_audit_chain()
    assert stderr.splitlines() == [
        f"{described(edited)}: its content was changed after it was written",
        f"{described(following)}: the event written before it is missing (removed, or changed together with its hash)",
    ]


def test_a_removed_event_is_found_by_the_next_one(demo):
    removed, following = AuditEvent.objects.select_related("content_type").order_by("id")[3:5]
    with tampering("audit_auditevent"):
        # Its notifications refer to it: they go too, or the foreign key would refuse the removal.
        sql("DELETE FROM exemptions_notification WHERE event_id = %s", [removed.pk])
        sql("DELETE FROM audit_auditevent WHERE id = %s", [removed.pk])
    _, stderr = verify_audit_chain()
    assert stderr.splitlines() == [
        f"{described(following)}: the event written before it is missing (removed, or changed together with its hash)"
    ]


def test_removing_the_newest_events_is_found_by_the_chain_head(demo):
    kept, *removed = AuditEvent.objects.select_related("content_type").order_by("-id")[:3][::-1]
    with tampering("audit_auditevent"):
        for event in removed:
            sql("DELETE FROM exemptions_notification WHERE event_id = %s", [event.pk])
            sql("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    _, stderr = verify_audit_chain()
    assert stderr.splitlines() == [
        f"{described(kept)}: events written after it are missing (the chain head names another hash)"
    ]


def test_reordered_events_are_named(demo):
    before, first, second, after = AuditEvent.objects.select_related("content_type").order_by("id")[3:7]
    with tampering("audit_auditevent"):
        # Swapping ids swaps their places in the chain; both ids exist again at the end, so the
        # notifications' foreign keys still hold.
        sql("UPDATE audit_auditevent SET id = -id WHERE id = %s", [first.pk])
        sql("UPDATE audit_auditevent SET id = %s WHERE id = %s", [first.pk, second.pk])
        sql("UPDATE audit_auditevent SET id = %s WHERE id = %s", [second.pk, -first.pk])
    second.id, first.id = first.pk, second.pk
    _, stderr = verify_audit_chain()
    assert stderr.splitlines() == [
        f"{described(second)}: out of order, it was written after event {first.id}, not after event {before.id}",
        f"{described(first)}: out of order, it was written after event {before.id}, not after event {second.id}",
        f"{described(after)}: out of order, it was written after event {second.id}, not after event {first.id}",
    ]
