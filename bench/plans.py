"""Plan generation (issue 9): `followup.services.plan_create` for 20,000 administrations, against
PostgreSQL's COPY of the same plan and visit rows, written to the "Plan generation (issue 9)"
section of BENCHMARKS.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/atmp_clinic_bench .venv/bin/python -m bench.plans

First (not timed) --administrations new chains are copied in SQL from the generated ones: request,
decision, collection, batch and administration, each with new ids and identifiers, the same dates,
products and people. Then, timed, `plan_create` for each administration, one after the other and
each committed, as `administration_record` runs it (the administration with its request in hand):
the decision's template read, the plan and its visits written, the audit event chained. The rows it
wrote (plans and visits) are copied out, and the floor is timed in a transaction rolled back: those
rows deleted (not timed), then COPY … FROM STDIN of the very same rows. At the end the copied chains
and their plans are deleted; their 20,000 audit events stay, as the audit trail is append-only
(enforced by a trigger): the next `make bench` starts from a new database anyway.

Each plan is committed because one transaction around all of them measured something else: the
audit chain's one-row head, updated 20,000 times in one transaction, grew a chain of row versions
that every later `SELECT … FOR UPDATE` walked (899 s for 20,000 plans, against 7 minutes committed)."""

import argparse
import io
import os
import time

from bench.common import database_name, machine, measured_on, setup_django, write_section

SECTION = "Plan generation (issue 9)"
OFFSET = 1_000_000  # added to the copied chains' ids, far above the generated ones


def copy_chains(count: int) -> int:
    """`count` new administrations (and the chain before each) copied from the generated ones."""
    from django.db import connection

    from atmp_clinic.exemptions.models import Decision, ExemptionRequest
    from atmp_clinic.manufacturing.models import Administration, Batch, Collection

    def columns(model) -> list[str]:
        return [field.column for field in model._meta.concrete_fields]

    # per table: the new value of the columns that must differ from the original row's
    changed = {
        ExemptionRequest: {"id": f"id + {OFFSET}", "reference": "reference || '-B'"},
        Decision: {"id": f"id + {OFFSET}", "request_id": f"request_id + {OFFSET}"},
        Collection: {
            "id": f"id + {OFFSET}", "request_id": f"request_id + {OFFSET}",
            "donation_identifier": f"left(donation_identifier, 8) || lpad((id + {OFFSET})::text, 13, '0')",
        },
        Batch: {"id": f"id + {OFFSET}", "request_id": f"request_id + {OFFSET}", "collection_id": f"collection_id + {OFFSET}"},
        Administration: {"id": f"id + {OFFSET}", "batch_id": f"batch_id + {OFFSET}", "request_id": f"request_id + {OFFSET}"},
    }  # fmt: skip
    # the first `count` administrations' requests; each table's rows of those requests
    chosen = f"SELECT request_id FROM {Administration._meta.db_table} ORDER BY id LIMIT %s"
    with connection.cursor() as cursor:
        for model, replace in changed.items():
            names = columns(model)
            request_column = "id" if model is ExemptionRequest else "request_id"
            cursor.execute(
                f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) "
                f"SELECT {', '.join(replace.get(name, name) for name in names)} FROM {model._meta.db_table} "
                f"WHERE {request_column} IN ({chosen})",
                [count],
            )
        return cursor.rowcount


def rows_out(cursor, table: str, where: str) -> bytes:
    buffer = io.BytesIO()
    with cursor.copy(f"COPY (SELECT * FROM {table} WHERE {where}) TO STDOUT") as copy:
        for block in copy:
            buffer.write(block)
    return buffer.getvalue()


def delete_copies(cursor) -> None:
    """The copied chains and the plans made for them (left over by an interrupted run, too)."""
    where = f"> {OFFSET}"
    for statement in (
        f"DELETE FROM followup_followupvisit WHERE plan_id IN "
        f"(SELECT id FROM followup_followupplan WHERE administration_id {where})",
        f"DELETE FROM followup_followupplan WHERE administration_id {where}",
        f"DELETE FROM manufacturing_administration WHERE id {where}",
        f"DELETE FROM manufacturing_batch WHERE id {where}",
        f"DELETE FROM manufacturing_collection WHERE id {where}",
        f"DELETE FROM exemptions_decision WHERE request_id {where}",
        f"DELETE FROM exemptions_exemptionrequest WHERE id {where}",
    ):
        cursor.execute(statement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--administrations", type=int, default=20_000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md as it is")
    args = parser.parse_args()
    url = setup_django()
    from django.db import connection, transaction

    from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
    from atmp_clinic.followup.services import plan_create
    from atmp_clinic.manufacturing.models import Administration

    load_before = os.getloadavg()[0]
    plan_filter = f"administration_id > {OFFSET}"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            delete_copies(cursor)
            copied = copy_chains(args.administrations)
        administrations = list(
            Administration.objects.filter(pk__gt=OFFSET)
            .select_related("request", "patient", "administered_by")
            .order_by("pk")
        )
        print(f"{copied:,} chains copied; plan_create for each, committed one by one …", flush=True)
        started = time.perf_counter()
        for administration in administrations:
            with transaction.atomic():
                plan_create(administration=administration)
        app_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            plans = rows_out(cursor, FollowUpPlan._meta.db_table, plan_filter)
            visits = rows_out(
                cursor,
                FollowUpVisit._meta.db_table,
                f"plan_id IN (SELECT id FROM {FollowUpPlan._meta.db_table} WHERE {plan_filter})",
            )
        plan_count, visit_count = plans.count(b"\n"), visits.count(b"\n")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {FollowUpVisit._meta.db_table} WHERE plan_id IN "
                f"(SELECT id FROM {FollowUpPlan._meta.db_table} WHERE {plan_filter})"
            )
            cursor.execute(f"DELETE FROM {FollowUpPlan._meta.db_table} WHERE {plan_filter}")
            started = time.perf_counter()
            for table, data in ((FollowUpPlan._meta.db_table, plans), (FollowUpVisit._meta.db_table, visits)):
                with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                    copy.write(data)
            floor_seconds = time.perf_counter() - started
            transaction.set_rollback(True)
    finally:
        with transaction.atomic(), connection.cursor() as cursor:
            delete_copies(cursor)
    load = (load_before, os.getloadavg()[0])
    rows = plan_count + visit_count
    ratio = app_seconds / floor_seconds
    print(
        f"plan_create: {plan_count:,} plans, {visit_count:,} visits in {app_seconds:.1f} s "
        f"({plan_count / app_seconds:,.0f} plans/s); COPY of the same rows {floor_seconds:.2f} s: {ratio:.0f}× COPY"
    )
    if args.no_write:
        return
    box = machine()
    body = f"""
Issue 9: `followup.services.plan_create` for {plan_count:,} administrations, against PostgreSQL's
COPY of the same rows in the same run.

**Run it**: `make bench-plans` (= `.venv/bin/python -m bench.plans`; `--administrations N`, `--no-write`)
after `make bench-generate`, on `{database_name(url)}`.

{plan_count:,} chains (request, decision, collection, batch, administration) are copied in SQL from the
generated ones (not timed); `plan_create` then runs for each administration, one after the other and
each committed, as `manufacturing.services.administration_record` runs it: the decision and its
template read, the plan and its visits written (`bulk_create`), an audit event chained. The plans
and visits it wrote are copied out and, in a transaction rolled back, deleted and written again with
`COPY … FROM STDIN`: the floor. The copies are deleted at the end; their audit events stay (the
trail is append-only). A first version ran all 20,000 in one transaction: the audit chain's one-row
head, updated 20,000 times there, grew a chain of row versions each `SELECT … FOR UPDATE` walked,
and it took 899 s (45 ms a plan, 224× COPY): the benchmark's artefact, not the service's.

| writer | plans | visits | seconds | plans/s | rows/s | / COPY |
|---|---:|---:|---:|---:|---:|---:|
| `plan_create`, one call per administration | {plan_count:,} | {visit_count:,} | {app_seconds:.1f} | {plan_count / app_seconds:,.0f} | {rows / app_seconds:,.0f} | {ratio:.0f}× the time |
| floor: COPY of the same rows | {plan_count:,} | {visit_count:,} | {floor_seconds:.2f} | {plan_count / floor_seconds:,.0f} | {rows / floor_seconds:,.0f} | 1 |

Per plan, `plan_create` makes about 7 round trips (the existing plan, the decision, the template
and its visits, the plan's INSERT, the visits' INSERT, the audit chain's head and the event's INSERT)
where COPY streams rows: {app_seconds / plan_count * 1000:.1f} ms per plan against {floor_seconds / plan_count * 1000:.2f} ms.

{measured_on(box, load)}
"""
    write_section(SECTION, body)
    print(f"Wrote the section {SECTION!r} of BENCHMARKS.md")


if __name__ == "__main__":
    main()
