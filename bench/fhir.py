"""FHIR NDJSON export (issue 9): `registry.fhir.ndjson_lines` for a slice of the registry's
patients, resources/s and the peak RSS of the process, against PostgreSQL's COPY … TO STDOUT of the
source rows of the same patients, written to the "FHIR NDJSON export (issue 9)" section of
BENCHMARKS.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/atmp_clinic_bench .venv/bin/python -m bench.fhir

The full registry (20,000 patients, some 2.3 million encounters and several observations per
outcome) would take longer than the whole `make bench` may, so the first --patients consented
patients (by id) are exported; the export reads CHUNK_SIZE patients at a time, so the rate and the
memory per patient do not depend on the slice. Each pass runs in a fresh child process, export and
COPY alternating, median of --runs: the export's lines are counted and measured; the floor copies
the rows the export reads (patients, registry consents, administrations, plans, completed visits,
outcomes, adverse events) for the same patients, every block read in Python, nothing decoded."""

import argparse
import json
import os
import statistics
import time

from bench.common import (
    database_name,
    in_child,
    machine,
    measured_on,
    rss_mb,
    setup_django,
    write_section,
)

SECTION = "FHIR NDJSON export (issue 9)"


def chosen_patients(count: int) -> list[int]:
    from atmp_clinic.registry.exports import registry_patients

    return list(registry_patients().order_by("pk").values_list("pk", flat=True)[:count])


def child_export(count: int) -> dict:
    from django.db import connection

    from atmp_clinic.patients.models import Patient
    from atmp_clinic.registry.fhir import ndjson_lines

    patients = Patient.objects.filter(pk__in=chosen_patients(count))
    connection.ensure_connection()
    before = rss_mb()[1]
    started = time.perf_counter()
    kinds: dict[str, int] = {}
    chars = 0
    for line in ndjson_lines(patients):
        chars += len(line)
        kind = line[17 : line.index('"', 17)]  # every line starts {"resourceType":"…"
        kinds[kind] = kinds.get(kind, 0) + 1
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "resources": sum(kinds.values()), "kinds": kinds, "chars": chars,
            "rss_before": before, "rss_peak": rss_mb()[1]}  # fmt: skip


def child_copy(count: int) -> dict:
    """The source rows of the same patients, as stored, through COPY."""
    from django.db import connection

    ids = ",".join(str(pk) for pk in chosen_patients(count))
    statements = [
        f"SELECT * FROM patients_patient WHERE id IN ({ids})",
        f"SELECT * FROM patients_consent WHERE kind = 'registry' AND withdrawn_on IS NULL AND patient_id IN ({ids})",
        f"SELECT a.*, r.product_id FROM manufacturing_administration a JOIN exemptions_exemptionrequest r "
        f"ON r.id = a.request_id WHERE a.patient_id IN ({ids})",
        f"SELECT * FROM followup_followupplan WHERE patient_id IN ({ids})",
        f"SELECT v.*, o.* FROM followup_followupvisit v JOIN followup_followupplan p ON p.id = v.plan_id "
        f"LEFT JOIN registry_outcomerecord o ON o.visit_id = v.id WHERE v.status = 'completed' AND p.patient_id IN ({ids})",
        f"SELECT * FROM registry_adverseevent WHERE patient_id IN ({ids})",
    ]  # fmt: skip
    connection.ensure_connection()
    started = time.perf_counter()
    rows = size = 0
    with connection.cursor() as cursor:
        for statement in statements:
            with cursor.cursor.copy(f"COPY ({statement}) TO STDOUT") as copy:
                for block in copy:
                    size += len(block)
                    rows += bytes(block).count(b"\n")
    return {"seconds": time.perf_counter() - started, "rows": rows, "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md as it is")
    parser.add_argument("--child", choices=("export", "copy"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = setup_django()
    if args.child:
        child = child_export if args.child == "export" else child_copy
        print(json.dumps(child(args.patients)))
        return
    load_before = os.getloadavg()[0]
    in_child("bench.fhir", "copy", "--patients", str(args.patients))  # warm-up: the rows into the page cache
    exports, copies = [], []
    for run in range(args.runs):
        exports.append(in_child("bench.fhir", "export", "--patients", str(args.patients)))
        copies.append(in_child("bench.fhir", "copy", "--patients", str(args.patients)))
        e, c = exports[-1], copies[-1]
        print(
            f"run {run + 1}: {e['resources']:,} resources in {e['seconds']:.1f} s ({e['resources'] / e['seconds']:,.0f}/s, "
            f"peak RSS {e['rss_peak']:.0f} MB); COPY of {c['rows']:,} source rows in {c['seconds']:.2f} s",
            flush=True,
        )
    load = (load_before, os.getloadavg()[0])
    seconds = statistics.median(e["seconds"] for e in exports)
    copy_seconds = statistics.median(c["seconds"] for c in copies)
    resources, rows = exports[0]["resources"], copies[0]["rows"]
    peak = max(e["rss_peak"] for e in exports)
    growth = max(e["rss_peak"] - e["rss_before"] for e in exports)
    print(
        f"median: {resources / seconds:,.0f} resources/s ({rows / seconds:,.0f} source rows/s) against COPY's "
        f"{rows / copy_seconds:,.0f} rows/s: {copy_seconds / seconds:.1%} of COPY's rate; peak RSS {peak:.0f} MB"
    )
    if args.no_write:
        return
    box = machine()
    kinds = ", ".join(
        f"{n:,} {kind}" for kind, n in sorted(exports[0]["kinds"].items(), key=lambda kv: -kv[1])
    )
    body = f"""
Issue 9: the registry's FHIR R4 NDJSON (`registry.fhir.ndjson_lines`, what
`/api/v1/registry/export.ndjson` and the export job stream) for the first {args.patients:,} consented
patients, against PostgreSQL's `COPY … TO STDOUT` of the rows it reads for the same patients.

**Run it**: `make bench-fhir` (= `.venv/bin/python -m bench.fhir`; `--patients N`, `--runs`, `--no-write`)
after `make bench-generate`, on `{database_name(url)}`.

The whole registry (20,000 patients, ~2.3 million encounters, several observations per outcome) would
outlast `make bench`'s half hour, so a slice is exported; the export reads 200 patients at a time
with their related rows, so neither its rate nor its memory depends on the slice's size. Each pass
in a fresh child process, export and COPY alternating after one COPY as warm-up; median of {args.runs}.

**Volume**: {args.patients:,} patients, **{resources:,} resources** ({kinds}),
{exports[0]["chars"] / 1e6:,.0f} M characters; {rows:,} source rows.

| pass | seconds (median) | resources/s | source rows/s | / COPY |
|---|---:|---:|---:|---:|
| export: `ndjson_lines`, each line counted | {seconds:.1f} | {resources / seconds:,.0f} | {rows / seconds:,.0f} | {copy_seconds / seconds:.1%} of its rate |
| floor: COPY of the source rows | {copy_seconds:.2f} | | {rows / copy_seconds:,.0f} | 100% |

Each resource is a `fhir.resources` (pydantic) model, validated as it is built and serialised with
`model_dump_json`: that, not the database, is where the time goes (the queries are a fixed six per
200 patients, tests/registry/test_fhir.py).

**Memory**: peak RSS of the export's process **{peak:.0f} MB**, at most +{growth:.0f} MB over the pass (VmHWM
of the child, which runs nothing but the pass).

{measured_on(box, load)}
"""
    write_section(SECTION, body)
    print(f"Wrote the section {SECTION!r} of BENCHMARKS.md")


if __name__ == "__main__":
    main()
