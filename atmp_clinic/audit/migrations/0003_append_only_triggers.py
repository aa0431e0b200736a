"""The audit trail and signatures refuse UPDATE and DELETE in the database itself, so that neither raw
SQL nor a bulk query that skips the ORM can rewrite them (21 CFR Part 11 §11.10(e), Annex 11 §9).

Row triggers, not statement triggers: a statement trigger would also fire on an UPDATE that matches
no row, which is how Django loads serialized data (an UPDATE first, then the INSERT). TRUNCATE fires
no row trigger, so the test framework can still empty the tables; a database owner who truncates an
audit table is outside what a trigger can stop. PostgreSQL only: SQLite's flush empties tables with
DELETE, which a trigger there would refuse."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

TABLES = ("audit_auditevent", "audit_signature")

# Shared with documents.0002 for the issued documents.
CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION append_only_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused by trigger %', TG_TABLE_NAME, TG_OP, TG_NAME
        USING HINT = 'Record a new row instead of changing or removing one.';
END;
$$
"""
DROP_FUNCTION = "DROP FUNCTION IF EXISTS append_only_refuse()"


def create_trigger_sql(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION append_only_refuse()"
    )


def drop_trigger_sql(table: str) -> str:
    return f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"


def create_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(create_trigger_sql(table))


def drop_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(drop_trigger_sql(table))
    schema_editor.execute(DROP_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_alter_signature_meaning")]

    operations = [migrations.RunPython(create_triggers, drop_triggers, elidable=False)]
