"""Measure the registry's outcome export (issue 6) at 2,000,000 rows against PostgreSQL's own
`COPY … TO STDOUT` of the same rows, and write the figures to the "Registry export (issue 6)"
section of BENCHMARKS.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/atmp_clinic_bench .venv/bin/python -m bench.registry_export

First, once (idempotent, in one transaction): the database bench.generate filled holds some
240,000 completed visits, so the script tops them up to --rows with fortnightly remote
questionnaire visits, added to the plans as a plan amendment adds visits (`added_by_amendment`,
collecting what an added visit collects), completed in their windows up to today or the plan's
end; it records one outcome per completed visit, with the sections its visit collects (as
`registry.services.outcome_record` accepts them), and gives every patient without one an active
registry consent, as the generator writes them. All written with COPY.

Then, in the same run, alternating, each pass in a fresh child process (so neither the
generation nor an earlier pass counts towards its memory):
- export: `sum(len(line) for line in exports.csv_lines("outcomes"))`, rows/s and the peak RSS of
  the child (VmHWM after the pass, and its growth over the pass); on PostgreSQL the export runs
  its query, which formats the cells, as a COPY and passes each row on as text;
- COPY, the floor: the same rows' plain columns, as the ORM selects them with no formatting, as
  `COPY (…) TO STDOUT WITH CSV` through psycopg's `cursor.copy()`, every block read in Python
  and nothing decoded.
Median of --runs. When the export reaches less than half of COPY's rate, a 200,000-row slice is
profiled with cProfile and the top of the profile printed."""

import argparse
import json
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from bench.common import NOW, database_name, in_child, machine, now_utc, rss_mb, setup_django

SECTION = "Registry export (issue 6)"
TARGET_ROWS = 2_000_000
CHECK_IN_DAYS = 14  # a remote questionnaire every fortnight
CHECK_IN_WINDOW = 3
PROFILE_ROWS = 200_000
SEED = 2026


# --- the data --------------------------------------------------------------------------------


def counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT (SELECT count(*) FROM patients_patient),
                      (SELECT count(*) FROM followup_followupplan),
                      (SELECT count(*) FROM followup_followupvisit),
                      (SELECT count(*) FROM followup_followupvisit WHERE status = 'completed'),
                      (SELECT count(*) FROM followup_followupvisit WHERE added_by_amendment AND modality = 'questionnaire'),
                      (SELECT count(*) FROM registry_outcomerecord),
                      (SELECT count(DISTINCT patient_id) FROM patients_consent
                        WHERE kind = 'registry' AND withdrawn_on IS NULL)"""
        )
        names = ["patients", "plans", "visits", "completed", "check_ins", "outcomes", "consented"]
        return dict(zip(names, cursor.fetchone(), strict=True))


def ensure_registry_consents() -> int:
    """An active registry consent for every patient without one, dated and recorded as the
    generator dates the others: 90 days before the first administration, by the clinician who
    gave it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO patients_consent (patient_id, kind, given_on, withdrawn_on, recorded_by_id,
                                             recorded_at, withdrawal_recorded_by_id)
               SELECT DISTINCT ON (p.id) p.id, 'registry', (a.administered_at - interval '90 days')::date,
                      NULL, a.administered_by_id, a.administered_at - interval '90 days' + interval '2 hours', NULL
               FROM patients_patient p
               JOIN manufacturing_administration a ON a.patient_id = p.id
               WHERE NOT EXISTS (SELECT 1 FROM patients_consent c WHERE c.patient_id = p.id
                                 AND c.kind = 'registry' AND c.withdrawn_on IS NULL)
               ORDER BY p.id, a.administered_at"""
        )
        return cursor.rowcount


def check_in_dates(starts_on: date, until: date):
    """The due dates of the fortnightly questionnaires whose window closed before `until`."""
    k = 1
    while (due := starts_on + timedelta(days=CHECK_IN_DAYS * k)) + timedelta(days=CHECK_IN_WINDOW) < until:
        yield k, due
        k += 1


def recorded_moment(rng: random.Random, performed: date) -> datetime:
    day = performed + timedelta(days=rng.randint(0, 2))
    return min(datetime(day.year, day.month, day.day, rng.randint(8, 17), rng.randrange(60), tzinfo=UTC),
               NOW - timedelta(hours=1))  # fmt: skip


def add_check_ins(cursor, needed: int, rng: random.Random) -> int:
    """`needed` completed fortnightly questionnaires, spread evenly over every plan's past."""
    from atmp_clinic.followup.services import EXTRA_VISIT_COLLECTS

    today = NOW.date()
    cursor.execute(
        """SELECT p.id, p.starts_on, p.ended_on, o.id FROM followup_followupplan p
           JOIN patients_patient pt ON pt.id = p.patient_id JOIN accounts_organisation o ON o.id = pt.hospital_id
           ORDER BY p.id"""
    )
    plans = cursor.fetchall()
    cursor.execute(
        """SELECT m.organisation_id, m.user_id FROM accounts_membership m
           WHERE m.role = 'clinician' ORDER BY m.organisation_id, m.user_id"""
    )
    clinicians: dict[int, list[int]] = {}
    for organisation, user in cursor.fetchall():
        clinicians.setdefault(organisation, []).append(user)
    until = {plan: min(today, ended_on or today) for plan, _, ended_on, _ in plans}
    capacity = sum(1 for plan, starts_on, _, _ in plans for _ in check_in_dates(starts_on, until[plan]))
    if capacity < needed:
        raise SystemExit(
            f"Only {capacity:,} fortnightly questionnaires fit the plans' past; {needed:,} needed."
        )
    cursor.execute("SELECT coalesce(max(id), 0) FROM followup_followupvisit")
    next_id = cursor.fetchone()[0] + 1
    collects = json.dumps(EXTRA_VISIT_COLLECTS)
    window = timedelta(days=CHECK_IN_WINDOW)
    columns = (
        "id, plan_id, label, due_on, window_opens_on, window_closes_on, modality, collects, status, "
        "added_by_amendment, originally_due_on, performed_on, out_of_window_reason, note, recorded_by_id, recorded_at"
    )
    index = written = 0
    with cursor.copy(f"COPY followup_followupvisit ({columns}) FROM STDIN") as copy:
        for plan, starts_on, _, hospital in plans:
            for k, due in check_in_dates(starts_on, until[plan]):
                # keep `needed` of the `capacity` candidates, evenly spaced
                keep = (index + 1) * needed // capacity > index * needed // capacity
                index += 1
                if not keep:
                    continue
                performed = min(max(due + timedelta(days=rng.randint(-CHECK_IN_WINDOW, CHECK_IN_WINDOW)),
                                    starts_on), until[plan] - timedelta(days=1))  # fmt: skip
                copy.write_row(
                    [next_id + written, plan, f"Questionnaire, week {2 * k}", due, due - window, due + window,
                     "questionnaire", collects, "completed", True, None, performed, "", "",
                     rng.choice(clinicians[hospital]), recorded_moment(rng, performed)]
                )  # fmt: skip
                written += 1
    return written


def outcome_values(rng: random.Random, collects: list[str]) -> list:
    """What a clinician records for the sections a visit collects: the patient alive (the
    generated visits all took place before any death), the rest as CAR-T follow-up finds it, a
    measurement now and then not done."""
    asked = set(collects)
    response = ecog = rcv = persistence = ""
    vcn = aplasia = igg = vas = None
    eq5d = [None] * 5
    if "disease_response" in asked:
        response = rng.choices(["CR", "PR", "SD", "PD", "relapse", "not_evaluable"], [50, 15, 10, 10, 10, 5])[
            0
        ]
    if "ecog" in asked:
        ecog = rng.choices([0, 1, 2, 3, 4], [40, 35, 15, 7, 3])[0]
    if "laboratory" in asked and rng.random() < 0.9:
        vcn = f"{rng.uniform(0, 2.5):.3f}"
        persistence = rng.choice(["detected", "not_detected"])
        aplasia = rng.random() < 0.6
        igg = f"{rng.uniform(2, 12):.2f}"
    if "eq5d5l" in asked and rng.random() < 0.85:
        eq5d = [rng.choices([1, 2, 3, 4, 5], [45, 25, 15, 10, 5])[0] for _ in range(5)]
        vas = rng.randint(30, 100)
    if "replication_competent_vector" in asked and rng.random() < 0.95:
        rcv = "not_detected"
    return ["alive", None, "", response, ecog if ecog != "" else None, rcv, vcn, persistence, aplasia, igg,
            *eq5d, vas]  # fmt: skip


def add_outcomes(cursor, rng: random.Random) -> int:
    """One outcome per completed visit that has none, recorded by whoever recorded the visit."""
    cursor.execute(
        """SELECT v.id, p.patient_id, v.collects, v.recorded_by_id, v.recorded_at FROM followup_followupvisit v
           JOIN followup_followupplan p ON p.id = v.plan_id
           WHERE v.status = 'completed' AND NOT EXISTS (SELECT 1 FROM registry_outcomerecord o WHERE o.visit_id = v.id)
           ORDER BY v.id"""
    )
    visits = cursor.fetchall()
    columns = (
        "visit_id, patient_id, recorded_by_id, recorded_at, vital_status, date_of_death, cause_of_death, "
        "disease_response, ecog, replication_competent_vector, vector_copy_number, car_t_persistence, "
        "b_cell_aplasia, igg_g_per_l, eq5d_mobility, eq5d_self_care, eq5d_usual_activities, eq5d_pain_discomfort, "
        "eq5d_anxiety_depression, eq5d_vas"
    )
    with cursor.copy(f"COPY registry_outcomerecord ({columns}) FROM STDIN") as copy:
        for visit, patient, collects, recorded_by, recorded_at in visits:
            if isinstance(collects, str):
                collects = json.loads(collects)
            moment = recorded_at + timedelta(minutes=rng.randint(1, 30))
            copy.write_row([visit, patient, recorded_by, moment, *outcome_values(rng, collects)])
    return len(visits)


def prepare(target: int) -> dict:
    """Top the database up to `target` outcomes (idempotent). Returns what was done and how long
    it took."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from atmp_clinic.followup.models import FollowUpVisit
    from atmp_clinic.patients.models import Consent
    from atmp_clinic.registry.models import OutcomeRecord

    started = time.perf_counter()
    before = counts()
    rng = random.Random(SEED)
    done = {"consents": 0, "check_ins": 0, "outcomes": 0}
    with transaction.atomic(), connection.cursor() as cursor:
        done["consents"] = ensure_registry_consents()
        if before["completed"] < target:
            done["check_ins"] = add_check_ins(cursor, target - before["completed"], rng)
        done["outcomes"] = add_outcomes(cursor, rng)
        for statement in connection.ops.sequence_reset_sql(
            no_style(), [FollowUpVisit, OutcomeRecord, Consent]
        ):
            cursor.execute(statement)
    if any(done.values()):
        with connection.cursor() as cursor:
            cursor.execute(
                "VACUUM (ANALYZE) followup_followupvisit, registry_outcomerecord, patients_consent"
            )
    seconds = time.perf_counter() - started
    after = counts()
    if after["outcomes"] < target:
        raise SystemExit(f"Only {after['outcomes']:,} outcomes after the top-up; {target:,} wanted.")
    with connection.cursor() as cursor:  # kept for the report of later runs, as bench_generation
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_registry_topup (done_at timestamptz, seconds float, done jsonb)"
        )
        if any(done.values()):
            cursor.execute(
                "INSERT INTO bench_registry_topup VALUES (now(), %s, %s)", [seconds, json.dumps(done)]
            )
        cursor.execute(
            "SELECT done_at, seconds, done FROM bench_registry_topup ORDER BY done_at DESC LIMIT 1"
        )
        last = cursor.fetchone()
    last = last and {"done_at": last[0], "seconds": last[1], "done": json.loads(last[2])}
    return {"seconds": seconds, "done": done, "before": before, "after": after, "last": last}


# --- the measurements (each in a child process) --------------------------------------------


def maxrss_mb() -> float:
    """This process's peak RSS in MB: VmHWM, not ru_maxrss, which Linux carries over an exec from
    the process that forked (here the parent, large after the top-up)."""
    return rss_mb()[1]


def capture_export_statement() -> str:
    """The statement csv_lines("outcomes") sends, caught as Django logs it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from atmp_clinic.registry import exports

    with CaptureQueriesContext(connection) as caught:
        lines = exports.csv_lines("outcomes")
        next(lines), next(lines, None)  # the header, then the first row: the query has run
        lines.close()
    return caught.captured_queries[-1]["sql"]


def floor_sql() -> tuple[str, list]:
    """The export's rows, joins, filter and order with their columns as stored: what COPY would
    send if the export formatted nothing."""
    from atmp_clinic.registry import exports
    from atmp_clinic.registry.models import OutcomeRecord

    rows = (
        OutcomeRecord.objects.filter(patient__in=exports.registry_patients().values("pk"))
        .order_by("visit__plan__patient__pseudonym", "visit__plan_id", "visit__due_on", "pk")
        .values_list(*exports._common("visit__plan__"), "visit__label", *exports.OUTCOME_FIELDS)
    )
    return rows.query.sql_with_params()


def child_export() -> dict:
    from django.db import connection

    from atmp_clinic.registry import exports

    connection.ensure_connection()
    before = maxrss_mb()
    started = time.perf_counter()
    lines = 0
    chars = 0
    for line in exports.csv_lines("outcomes"):
        chars += len(line)
        lines += 1
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": lines - 1,
        "chars": chars,
        "rss_before": before,
        "rss_peak": maxrss_mb(),
    }


def child_copy() -> dict:
    from django.db import connection

    sql, params = floor_sql()
    connection.close()
    connection.ensure_connection()
    before = maxrss_mb()
    started = time.perf_counter()
    blocks = size = newlines = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor
        with raw.copy(f"COPY ({sql}) TO STDOUT WITH CSV", params) as copy:
            for block in copy:
                blocks += 1
                size += len(block)
                newlines += bytes(block).count(b"\n")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": newlines, "bytes": size, "blocks": blocks, "rss_before": before,
            "rss_peak": maxrss_mb()}  # fmt: skip


def child_sql() -> dict:
    return {"export": capture_export_statement(), "floor": floor_sql()[0]}


def child_profile() -> dict:
    import cProfile
    import io
    import itertools
    import pstats

    from atmp_clinic.registry import exports

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    total = sum(len(line) for line in itertools.islice(exports.csv_lines("outcomes"), PROFILE_ROWS + 1))
    profiler.disable()
    seconds = time.perf_counter() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(14)
    own = {
        f"{func[0].rsplit('/', 1)[-1]}:{func[1]}({func[2]})": round(data[2], 3)
        for func, data in stats.stats.items()
    }
    top = sorted(own.items(), key=lambda item: -item[1])[:14]
    return {"seconds": seconds, "rows": PROFILE_ROWS, "chars": total, "text": out.getvalue(), "top": top}


CHILDREN = {"export": child_export, "copy": child_copy, "sql": child_sql, "profile": child_profile}


# --- the report ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=TARGET_ROWS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md as it is")
    parser.add_argument("--profile", action="store_true", help="profile a slice even if the rate is met")
    parser.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    args = parser.parse_args()

    url = setup_django()
    if args.child:
        print(json.dumps(CHILDREN[args.child](), default=str))
        return
    if not counts()["visits"]:
        raise SystemExit(f"{database_name(url)} is empty: run `python -m bench.generate` first.")
    print(f"{database_name(url)}: topping up to {args.rows:,} outcome rows", flush=True)
    prepared = prepare(args.rows)
    done, after = prepared["done"], prepared["after"]
    print(
        f"set-up in {prepared['seconds']:.1f} s: {done['check_ins']:,} questionnaire visits, "
        f"{done['outcomes']:,} outcomes, {done['consents']:,} registry consents added; now {after['visits']:,} "
        f"visits, {after['outcomes']:,} outcomes, {after['consented']:,} of {after['patients']:,} patients consented",
        flush=True,
    )
    query = in_child("bench.registry_export", "sql")
    load_before = os.getloadavg()
    in_child("bench.registry_export", "copy")  # warm-up: the tables into the page cache
    exports, copies = [], []
    for run in range(args.runs):
        exports.append(in_child("bench.registry_export", "export"))
        copies.append(in_child("bench.registry_export", "copy"))
        e, c = exports[-1], copies[-1]
        print(
            f"run {run + 1}: export {e['rows']:,} rows in {e['seconds']:.1f} s ({e['rows'] / e['seconds']:,.0f} rows/s, "
            f"peak RSS {e['rss_peak']:.0f} MB, +{e['rss_peak'] - e['rss_before']:.0f} MB over the pass); "
            f"COPY {c['rows']:,} rows in {c['seconds']:.1f} s ({c['rows'] / c['seconds']:,.0f} rows/s)",
            flush=True,
        )
    load = (load_before[0], os.getloadavg()[0])
    for e, c in zip(exports, copies, strict=True):
        if e["rows"] != c["rows"] or e["rows"] != after["outcomes"]:
            raise SystemExit(f"export {e['rows']:,} rows, COPY {c['rows']:,}, table {after['outcomes']:,}")
    export_rate = statistics.median(e["rows"] / e["seconds"] for e in exports)
    copy_rate = statistics.median(c["rows"] / c["seconds"] for c in copies)
    ratio = export_rate / copy_rate
    peak = max(e["rss_peak"] for e in exports)
    print(
        f"median: export {export_rate:,.0f} rows/s, COPY {copy_rate:,.0f} rows/s: {ratio:.0%}; peak RSS {peak:.0f} MB"
    )
    profile = None
    if ratio < 0.5 or args.profile:
        profile = in_child("bench.registry_export", "profile")
        print(f"cProfile of {PROFILE_ROWS:,} rows ({profile['seconds']:.1f} s under the profiler):")
        print(profile["text"])
    if not args.no_write:
        report(prepared=prepared, query=query, exports=exports, copies=copies, load=load, profile=profile,
               runs=args.runs)  # fmt: skip
        print(f"Wrote the section {SECTION!r} of BENCHMARKS.md")


def spread(values: list[float], fmt: str) -> str:
    return f"{fmt.format(statistics.median(values))} | {fmt.format(min(values))} – {fmt.format(max(values))}"


def report(*, prepared, query, exports, copies, load, profile, runs) -> None:
    from bench.common import write_section

    box = machine()
    after, done = prepared["after"], prepared["done"]
    rows = after["outcomes"]
    export_rates = [e["rows"] / e["seconds"] for e in exports]
    copy_rates = [c["rows"] / c["seconds"] for c in copies]
    ratio = statistics.median(export_rates) / statistics.median(copy_rates)
    peak = max(e["rss_peak"] for e in exports)
    growth = max(e["rss_peak"] - e["rss_before"] for e in exports)
    base = statistics.median(e["rss_before"] for e in exports)
    copy_peak = max(c["rss_peak"] for c in copies)
    mb_export = statistics.median(e["chars"] for e in exports) / 1e6
    mb_copy = statistics.median(c["bytes"] for c in copies) / 1e6
    shared = f" (on {box['cores']} cores: other work shared the machine)" if max(load) > 0.5 else ""
    verdict_rate = "meets" if ratio >= 0.5 else "**misses**"
    verdict_rss = "under" if peak < 200 else "**over**"
    last = prepared["last"]
    if any(done.values()):
        prepared_line = (
            f"This run topped the database up in **{prepared['seconds']:.0f} s**: {done['check_ins']:,} questionnaire "
            f"visits, {done['outcomes']:,} outcomes, {done['consents']:,} registry consents (COPY, one transaction, "
            "then VACUUM ANALYZE)."
        )
    elif last:
        made = last["done"]
        prepared_line = (
            f"The database already held them (checked in {prepared['seconds']:.1f} s); the top-up took "
            f"**{last['seconds']:.0f} s** on {last['done_at']:%Y-%m-%d} ({made['check_ins']:,} questionnaire visits, "
            f"{made['outcomes']:,} outcomes, {made['consents']:,} registry consents: COPY in one transaction, "
            "most of it the deferred foreign-key checks at COMMIT, then VACUUM ANALYZE)."
        )
    else:
        prepared_line = f"The database already held them (checked in {prepared['seconds']:.1f} s)."
    profile_text = ""
    if profile:
        top = "\n".join(f"| `{name}` | {seconds:.2f} s |" for name, seconds in profile["top"][:10])
        profile_text = f"""
**Profile** (cProfile, first {profile["rows"]:,} rows, {profile["seconds"]:.1f} s under the profiler; own time):

| function | own time |
|---|---|
{top}
"""
    body = f"""
Issue 6: exports stream, so {rows:,} outcome rows go out in constant memory (peak RSS under
200 MB) at a rate compared with PostgreSQL's own `COPY … TO STDOUT` of the same rows in the same run.

**Run it**

```sh
# once: bench.generate (see above), then, as often as needed (the first run tops the data up;
# rewrites this section; --no-write prints only, --profile profiles a 200,000-row slice anyway)
DATABASE_URL=postgres://postgres@127.0.0.1:5432/atmp_clinic_bench .venv/bin/python -m bench.registry_export
```

The generated database has {after["completed"] - after["check_ins"]:,} completed template visits; the script tops
them up (idempotently) with fortnightly remote questionnaires added to the plans as an amendment
adds visits (collecting vital status and adverse events), completed in their windows up to today
or the plan's end, records one outcome per completed visit with the sections its visit collects,
and gives the {f"{done['consents']:,}" if done["consents"] else "few"} patients without one an active registry consent, so every row is exported.
{prepared_line}

**Measured** {now_utc():%Y-%m-%d} on {box["cores"]} cores ({box["cpu"]}), {box["ram"]} RAM, {box["os"]};
{box["python"]}; PostgreSQL {box["postgresql"]} on the same machine; load average
{load[0]:.1f} before the runs and {load[1]:.1f} after{shared}.

**Volume**: {after["patients"]:,} patients ({after["consented"]:,} with an active registry consent), {after["plans"]:,} plans,
{after["visits"]:,} visits ({after["completed"]:,} completed, {after["check_ins"]:,} of them fortnightly questionnaires),
**{rows:,} outcome rows** exported.

Each pass in a fresh child process, export and COPY alternating, after one COPY as warm-up;
median of {runs}:

| pass | rows/s (median) | min – max | seconds (median) | output |
|---|---|---|---|---|
| export: `exports.csv_lines("outcomes")`, `sum(len(line))` | {spread(export_rates, "{:,.0f}")} | {statistics.median(e["seconds"] for e in exports):.1f} s | {mb_export:,.0f} M characters |
| floor: `COPY (plain SELECT) TO STDOUT WITH CSV`, blocks read by psycopg `cursor.copy()` | {spread(copy_rates, "{:,.0f}")} | {statistics.median(c["seconds"] for c in copies):.1f} s | {mb_copy:,.0f} MB |

**Export / COPY: {ratio:.0%}** ({verdict_rate} the 50 % target).

Before (commit 0c05aa1, the same data on the previous session's 2-core Intel Xeon): the export read the plain SELECT through a
server-side cursor, 2,000 rows a fetch, and formatted each value in Python before `csv.writer`:
51,367 rows/s against COPY's 183,634, **28 %**. The profile put 14 of 21 s in waiting for the
fetches and 6 s in per-value formatting. Now the query formats the cells (NULLIF for blank text,
CASE for booleans, `array_to_string` for lists) and, on PostgreSQL, runs as a COPY whose rows are
passed on as they arrive: the same cells as the ORM path SQLite takes (the same tests run on both).

**Memory**: peak RSS of the export's process **{peak:.0f} MB** ({verdict_rss} the 200 MB target): {base:.0f} MB after
Django's set-up and the connection, at most +{growth:.0f} MB over the {rows:,} rows (VmHWM of the child,
which runs nothing but the pass). The COPY child peaked at {copy_peak:.0f} MB.
{profile_text}
The export's statement, as Django logged it:

```sql
{query["export"]}
```

The floor's SELECT (the same joins, filter and order; the columns as stored):

```sql
{query["floor"]}
```
"""
    write_section(SECTION, body)


if __name__ == "__main__":
    main()
