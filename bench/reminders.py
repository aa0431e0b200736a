"""Time the daily reminder dispatch (issue 5) against the database bench.generate filled, and
write the figures to the "Reminder dispatch (issue 5)" section of BENCHMARKS.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/atmp_clinic_bench .venv/bin/python -m bench.reminders

At bench.common.NOW the outbox holds what the dispatch wrote up to yesterday; the timed work is
what the day's first sweep does: `create_due_reminders` (the reminder points reached today),
`sendable`, and `enqueue` of those ids to a real Redis broker (BENCH_BROKER_URL, default
redis://127.0.0.1:6379/13, never the environment's CELERY_BROKER_URL) with task_always_eager off
and no worker consuming: the queue is purged after every run. A second scenario empties the outbox
of the upcoming visits first: the first sweep after go-live or a long outage. Each run happens in
a transaction rolled back afterwards, so every run does the same work (the commit is not timed).
One warm-up, then the median of --runs runs."""

import argparse
import json
import os
import resource
import smtplib
import statistics
import subprocess
import sys
import time
from datetime import timedelta

BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
os.environ["CELERY_BROKER_URL"] = BROKER  # never a live broker that a worker consumes from

from bench.common import NOW, database_name, machine, now_utc, reset_peak_rss, rss_mb, setup_django  # noqa: E402

SECTION = "Reminder dispatch (issue 5)"
PLAN_LINES = 16


def broker_problem() -> str:
    """Why the enqueue step cannot be measured against the broker, or ""."""
    import redis

    from atmp_clinic.celery import app

    if app.conf.task_always_eager:
        return "task_always_eager is on"
    try:
        client = redis.Redis.from_url(BROKER, socket_connect_timeout=2)
        client.ping()
        db = client.connection_pool.connection_kwargs.get("db", 0)
        consumers = [
            c
            for c in client.client_list()
            if int(c.get("db", -1)) == db
            and c.get("cmd", "").lower() in ("brpop", "blpop", "blmove", "brpoplpush")
        ]
    except redis.RedisError as exc:
        return f"the broker {BROKER} is not reachable ({exc})"
    if consumers:
        return f"{len(consumers)} client(s) consume from {BROKER}: a worker would send the reminders"
    return ""


def purge_broker() -> int:
    from atmp_clinic.celery import app

    return app.control.purge()


def volume() -> dict[str, int]:
    from django.db.models import Count

    from atmp_clinic.accounts.models import Organisation
    from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit, OutboxMessage
    from atmp_clinic.patients.models import Patient

    hospitals = Organisation.objects.filter(kind=Organisation.Kind.HOSPITAL)
    counts = {
        "hospitals": hospitals.count(),
        "countries": hospitals.values("country").distinct().count(),
        "patients": Patient.objects.count(),
        "plans": FollowUpPlan.objects.count(),
        "visits": FollowUpVisit.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }
    counts |= {
        f"visits {row['status']}": row["n"]
        for row in FollowUpVisit.objects.values("status").annotate(n=Count("id")).order_by("status")
    }
    return counts


def generation() -> dict | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_generation') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(
            "SELECT generated_at, now, seconds, args FROM bench_generation ORDER BY generated_at DESC"
        )
        generated_at, now, seconds, args = cursor.fetchone()
    # Django reads jsonb as text
    return {"generated_at": generated_at, "now": now, "seconds": seconds, "args": json.loads(args)}


def forget_upcoming_reminders() -> int:
    """The cold scenario: nothing written yet for the visits whose reminder points are reached."""
    from django.conf import settings

    from atmp_clinic.followup.models import OutboxMessage

    today = NOW.date()
    horizon = today + timedelta(days=max(settings.REMINDER_DAYS_BEFORE))
    deleted, _ = OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.VISIT_REMINDER, visit__due_on__gte=today, visit__due_on__lte=horizon
    ).delete()
    return deleted


def one_run(*, cold: bool, with_enqueue: bool) -> dict:
    """One dispatch, step by step as `reminders.dispatch` does it, rolled back afterwards."""
    from django.db import transaction
    from django.db.models import Max

    from atmp_clinic.followup import reminders
    from atmp_clinic.followup.models import OutboxMessage

    result = {}
    with transaction.atomic():
        if cold:
            result["forgotten"] = forget_upcoming_reminders()
        watermark = OutboxMessage.objects.aggregate(last=Max("id"))["last"] or 0
        started = time.perf_counter()
        result["created"] = reminders.create_due_reminders(now=NOW)
        result["t_create"] = time.perf_counter() - started
        started = time.perf_counter()
        ids = reminders.sendable(now=NOW)
        result["t_sendable"] = time.perf_counter() - started
        result["sendable"] = len(ids)
        written = OutboxMessage.objects.filter(pk__gt=watermark)  # counted before enqueue moves send_after
        result["cancelled"] = written.filter(status=OutboxMessage.Status.CANCELLED).count()
        result["waiting"] = written.filter(status=OutboxMessage.Status.PENDING, send_after__gt=NOW).count()
        result["enqueued"], result["t_enqueue"] = 0, 0.0
        if with_enqueue:
            started = time.perf_counter()
            result["enqueued"] = reminders.enqueue(ids, now=NOW)
            result["t_enqueue"] = time.perf_counter() - started
        result["t_total"] = result["t_create"] + result["t_sendable"] + result["t_enqueue"]
        # The next sweep, five minutes later: nothing new to write.
        started = time.perf_counter()
        result["created_again"] = reminders.create_due_reminders(now=NOW + timedelta(minutes=5))
        result["t_idle"] = time.perf_counter() - started
        transaction.set_rollback(True)
    if with_enqueue:
        result["purged"] = purge_broker()
    return result


def one_dispatch(*, with_enqueue: bool) -> float:
    """`reminders.dispatch` itself, end to end, rolled back afterwards."""
    from django.db import transaction

    from atmp_clinic.followup import reminders

    with transaction.atomic():
        started = time.perf_counter()
        if with_enqueue:
            reminders.dispatch(now=NOW)
        else:
            reminders.create_due_reminders(now=NOW)
            reminders.sendable(now=NOW)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    if with_enqueue:
        purge_broker()
    return elapsed


def explain() -> tuple[list[dict], dict[str, list[str]]]:
    """EXPLAIN ANALYZE of the queries `create_due_reminders` and `sendable` run, captured as they
    run; each explained in the state the code met it (the visit queries before any row is
    written, `sendable` after). Also the statements each step ran. All rolled back."""
    from django.db import connection, transaction

    from atmp_clinic.followup import reminders

    captured: list[tuple[str, str, list]] = []
    step = ""

    def capture(execute, sql, params, many, context):
        captured.append((step, sql, params))
        return execute(sql, params, many, context)

    with transaction.atomic(), connection.execute_wrapper(capture):
        step = "create_due_reminders"
        reminders.create_due_reminders(now=NOW)
        step = "sendable"
        reminders.sendable(now=NOW)
        transaction.set_rollback(True)
    statements = {}
    for name, sql, _ in captured:
        statements.setdefault(name, []).append(sql.split(None, 1)[0].upper())

    def analysed(cursor, sql, params) -> dict:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        lines = [row[0] for row in cursor.fetchall()]
        text = "\n".join(lines)
        execution = next((line for line in lines if line.startswith("Execution Time")), "")
        return {
            "sql": sql,
            "lines": lines,
            "ms": float(execution.split(":")[1].split()[0]) if execution else float("nan"),
            "visit_index": "visit_scheduled_due" in text,
            "outbox_index": "outbox_pending_due" in text,
            "seq_scans": [line.strip(" ->") for line in lines if "Seq Scan" in line],
        }

    selects = [
        (name, sql, params) for name, sql, params in captured if sql.lstrip().upper().startswith("SELECT")
    ]
    plans = []
    with transaction.atomic(), connection.cursor() as cursor:
        plans += [
            analysed(cursor, sql, params) for name, sql, params in selects if name == "create_due_reminders"
        ]
        reminders.create_due_reminders(now=NOW)
        plans += [analysed(cursor, sql, params) for name, sql, params in selects if name == "sendable"]
        transaction.set_rollback(True)
    return plans, statements


def plan_excerpt(lines: list[str]) -> list[str]:
    """The plan down to the scan of the partial index (or its top lines), without buffer counts."""
    kept = [line for line in lines if "Buffers:" not in line]
    for number, line in enumerate(kept):
        if "visit_scheduled_due" in line:
            return kept[: number + 2]
    return kept[:PLAN_LINES]


def median_of(runs: list[dict], key: str) -> tuple[float, float, float]:
    values = [run[key] for run in runs]
    return statistics.median(values), min(values), max(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"


def smtp_sink() -> tuple[subprocess.Popen, int]:
    """aiosmtpd's Sink handler (accepts and drops every message) in a process of its own, so that
    receiving takes no time from the sender's."""
    from bench.load import free_port

    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as probe:
                probe.noop()
            return sink, port
        except OSError:
            time.sleep(0.2)
    sink.kill()
    raise SystemExit("the SMTP sink did not start")


def send_rates() -> dict:
    """Sends per second of one worker (`reminders.send`, the task's body, one message after the
    other as a worker with concurrency 1 runs them) to a local SMTP sink, against a plain smtplib
    loop sending the very same bytes to the same sink over one connection. The email reminders of
    the cold sweep, in a transaction rolled back afterwards, sent at NOW."""
    from django.conf import settings
    from django.db import transaction

    from atmp_clinic.followup import reminders
    from atmp_clinic.followup.models import Channel, OutboxMessage

    sink, port = smtp_sink()
    sent: list[tuple[str, list[str], bytes]] = []
    original_sendmail = smtplib.SMTP.sendmail

    def recording(self, from_addr, to_addrs, msg, *args, **kwargs):
        sent.append((from_addr, to_addrs, msg))
        return original_sendmail(self, from_addr, to_addrs, msg, *args, **kwargs)

    saved = {name: getattr(settings, name) for name in ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT")}
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    try:
        with transaction.atomic():
            forget_upcoming_reminders()
            reminders.create_due_reminders(now=NOW)
            ids = list(
                OutboxMessage.objects.filter(pk__in=reminders.sendable(now=NOW), channel=Channel.EMAIL)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            smtplib.SMTP.sendmail = recording
            started = time.perf_counter()
            done = sum(reminders.send(message_id, now=NOW) for message_id in ids)
            app_seconds = time.perf_counter() - started
            smtplib.SMTP.sendmail = original_sendmail
            transaction.set_rollback(True)
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for from_addr, to_addrs, msg in sent:
                smtp.sendmail(from_addr, to_addrs, msg)
        floor_seconds = time.perf_counter() - started
    finally:
        smtplib.SMTP.sendmail = original_sendmail
        for name, value in saved.items():
            setattr(settings, name, value)
        sink.terminate()
        sink.wait()
    if not done or len(sent) != done:
        raise SystemExit(f"{len(ids)} reminders to send, {done} sent, {len(sent)} messages seen by smtplib")
    size = statistics.median(len(msg) for _, _, msg in sent)
    return {
        "messages": done, "app_seconds": app_seconds, "floor_seconds": floor_seconds,
        "app_rate": done / app_seconds, "floor_rate": done / floor_seconds, "size": size,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-enqueue", action="store_true", help="leave the broker out")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md as it is")
    args = parser.parse_args()

    url = setup_django()
    from django.conf import settings

    counts = volume()
    if not counts["visits"]:
        raise SystemExit(f"{database_name(url)} is empty: run `python -m bench.generate` first.")
    generated = generation()
    if generated and generated["now"] != NOW:
        raise SystemExit(
            f"The data was generated around {generated['now']:%Y-%m-%d %H:%M}, not bench.common.NOW: generate again."
        )
    problem = "" if not args.no_enqueue else "left out (--no-enqueue)"
    problem = problem or broker_problem()
    with_enqueue = not problem
    if with_enqueue and purge_broker():
        print(f"purged messages left in {BROKER}")
    print(
        f"{database_name(url)}: {counts['patients']:,} patients, {counts['visits']:,} visits; now = {NOW:%Y-%m-%d %H:%M} UTC"
    )
    print(f"enqueue: {'to ' + BROKER + ' (task_always_eager off, no consumer)' if with_enqueue else problem}")
    baseline = rss_mb()[0]
    peak_reset = reset_peak_rss()
    load_before = os.getloadavg()

    results = {}
    for name, cold in (("daily", False), ("cold", True)):
        one_run(cold=cold, with_enqueue=with_enqueue)  # warm-up
        runs = [one_run(cold=cold, with_enqueue=with_enqueue) for _ in range(args.runs)]
        for run in runs:
            if with_enqueue and run["purged"] != run["enqueued"]:
                raise SystemExit(f"{run['enqueued']} tasks enqueued but {run['purged']} found in the broker")
        results[name] = runs
        run = runs[0]
        print(
            f"{name:6} created {run['created']:>5} rows ({run['cancelled']} cancelled for want of an address, "
            f"{run['waiting']} waiting for quiet hours to end), sendable {run['sendable']}, "
            f"enqueued {run['enqueued']}, next sweep {run['created_again']}"
        )
        for key in ("t_create", "t_sendable", "t_enqueue", "t_total", "t_idle"):
            median, low, high = median_of(runs, key)
            print(f"       {key[2:]:9} median {ms(median):>9}  (min {ms(low)}, max {ms(high)})")
    one_dispatch(with_enqueue=with_enqueue)
    dispatch_times = [one_dispatch(with_enqueue=with_enqueue) for _ in range(args.runs)]
    print(f"dispatch() end to end: median {ms(statistics.median(dispatch_times))}")
    rates = send_rates()
    print(
        f"send: {rates['messages']} email reminders in {rates['app_seconds']:.1f} s, {rates['app_rate']:.0f}/s per worker; "
        f"plain smtplib loop {rates['floor_rate']:.0f}/s: {rates['app_rate'] / rates['floor_rate']:.0%}"
    )
    plans, statements = explain()
    load = (load_before[0], os.getloadavg()[0])
    print(f"load average (1 min): {load[0]:.1f} before the runs, {load[1]:.1f} after")
    _, peak = rss_mb()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"RSS: {baseline:.0f} MB after set-up, peak {peak:.0f} MB during the runs (ru_maxrss {maxrss:.0f} MB)"
    )
    visit_queries = [p for p in plans if "followup_followupvisit" in p["sql"]]
    for plan in plans:
        used = (
            "visit_scheduled_due"
            if plan["visit_index"]
            else "outbox_pending_due"
            if plan["outbox_index"]
            else "-"
        )
        print(f"EXPLAIN ANALYZE: {plan['ms']:.1f} ms, index {used}, seq scans {plan['seq_scans'] or 'none'}")
    print("\n".join(plan_excerpt(visit_queries[0]["lines"])))
    for name, kinds in statements.items():
        print(f"{name}: {len(kinds)} statements ({', '.join(kinds)})")
    if not args.no_write:
        report(
            counts=counts, generated=generated, results=results, dispatch_times=dispatch_times, plans=plans,
            rss=(baseline, peak if peak_reset else maxrss), runs=args.runs, enqueue_note=problem,
            points=settings.REMINDER_DAYS_BEFORE, load=load, statements=statements, rates=rates,
        )  # fmt: skip
        print(f"Wrote the section {SECTION!r} of BENCHMARKS.md")


def report(
    *,
    counts,
    generated,
    results,
    dispatch_times,
    plans,
    rss,
    runs,
    enqueue_note,
    points,
    load,
    statements,
    rates,
) -> None:
    from bench.common import write_section

    box = machine()
    daily, cold = results["daily"][0], results["cold"][0]
    visit_queries = [p for p in plans if "followup_followupvisit" in p["sql"]]
    sendable_query = next((p for p in plans if p["outbox_index"]), None)
    all_indexed = all(p["visit_index"] for p in visit_queries)

    def row(label: str, scenario: str, key: str, rows: str) -> str:
        median, low, high = median_of(results[scenario], key)
        return f"| {label} | {ms(median)} | {ms(low)} – {ms(high)} | {rows} |"

    enqueue_rows = f"{daily['enqueued']:,} tasks" if not enqueue_note else f"not measured: {enqueue_note}"
    cold_enqueue = f"{cold['enqueued']:,} tasks" if not enqueue_note else "not measured"
    statuses = ", ".join(
        f"{counts[key]:,} {key.split()[1]}" for key in sorted(counts) if key.startswith("visits ")
    )
    if generated:
        options = " ".join(f"--{name.replace('_', '-')} {value}" for name, value in generated["args"].items())
        generation_line = (
            f"Generated in **{generated['seconds']:.0f} s** ({generated['seconds'] / 60:.1f} min) on "
            f"{generated['generated_at']:%Y-%m-%d} (`python -m bench.generate {options}`)."
        )
    else:
        generation_line = "Generation time not recorded (the database predates the bench_generation table)."
    plan_text = "\n".join(plan_excerpt(visit_queries[0]["lines"])) if visit_queries else "(no query captured)"
    sendable_text = (
        "\n".join(plan_excerpt(sendable_query["lines"])[:4]) if sendable_query else "(not captured)"
    )
    explained = "; ".join(f"{p['ms']:.1f} ms" for p in visit_queries)
    ran = "; ".join(
        f"`{name}` {len(kinds)} ({', '.join(f'{kinds.count(k)} {k}' for k in dict.fromkeys(kinds))})"
        for name, kinds in statements.items()
    )
    seq_scans = sorted({scan.split(" on ")[1].split()[0] for p in visit_queries for scan in p["seq_scans"]})
    seq_note = (
        f" Besides the index, they read {', '.join(f'`{t}`' for t in seq_scans)} sequentially (a small table"
        " hashed for the join; see the plan)."
        if seq_scans
        else " No sequential scan."
    )
    retries = daily["sendable"] - (daily["created"] - daily["cancelled"] - daily["waiting"])
    per_task = [r["t_enqueue"] / r["enqueued"] for r in results["cold"] if r["enqueued"]]
    per_row = [r["t_create"] / r["created"] for r in results["cold"] if r["created"]]
    unit_costs = (
        f"Per unit (cold sweep): `create_due_reminders` {statistics.median(per_row) * 1000:.2f} ms per row written"
        + (f", `enqueue` {statistics.median(per_task) * 1000:.2f} ms per task." if per_task else ".")
    )
    shared = f" (on {box['cores']} cores: other work shared the machine)" if max(load) > 0.5 else ""
    body = f"""
Issue 5: the dispatch reads only what is due, through indexed queries, and writes in bulk, so at
full volume the daily sweep finishes in seconds. `create_due_reminders`, `sendable` and `enqueue`
(`atmp_clinic/followup/reminders.py`) are timed separately, as `dispatch` chains them.

**Run it**

```sh
# once (drops, creates, migrates and fills atmp_clinic_bench; a few minutes)
DATABASE_URL=postgres://postgres@127.0.0.1:5432/atmp_clinic_bench .venv/bin/python -m bench.generate
# then, as often as needed (rewrites this section; --no-write prints only, --no-enqueue leaves Redis out)
DATABASE_URL=postgres://postgres@127.0.0.1:5432/atmp_clinic_bench .venv/bin/python -m bench.reminders
```

Both scripts default to that URL and refuse a database whose name does not end in `_bench`. The
enqueue step publishes to `BENCH_BROKER_URL` (default `redis://127.0.0.1:6379/13`; the
environment's `CELERY_BROKER_URL` is ignored) with `task_always_eager` off; it is skipped when
Redis is unreachable or a client is consuming that database, and the queue is purged after each
run. The data is encrypted with this checkout's `SECRET_KEY`: generate again after changing it.

**Measured** {now_utc():%Y-%m-%d} on {box["cores"]} cores ({box["cpu"]}), {box["ram"]} RAM, {box["os"]};
{box["python"]}; PostgreSQL {box["postgresql"]} and Redis on the same machine; load average
{load[0]:.1f} before the runs and {load[1]:.1f} after{shared}.

**Volume**: {counts["patients"]:,} patients in {counts["hospitals"]} hospitals of {counts["countries"]} countries, {counts["plans"]:,} integrating-vector
plans of 15 years (some patients were treated twice), {counts["visits"]:,} visits ({statuses}),
{counts["outbox"]:,} outbox rows (every reminder written up to yesterday, as if the platform had run
for 15 years). Now = {NOW:%Y-%m-%d %H:%M} UTC; reminder points {points} days before.
{generation_line}

**Daily sweep** (the outbox holds everything up to yesterday: today's points only). Median of
{runs} runs after one warm-up, each rolled back:

| step | median | min – max | rows |
|---|---|---|---|
{row("`create_due_reminders`", "daily", "t_create", f"{daily['created']:,} written ({daily['cancelled']} cancelled: no address)")}
{row("`sendable`", "daily", "t_sendable", f"{daily['sendable']:,} ids ({retries} of them retries from yesterday; {daily['waiting']} of today's rows wait for the end of quiet hours)")}
{row("`enqueue` (Redis)", "daily", "t_enqueue", enqueue_rows)}
{row("**daily dispatch**", "daily", "t_total", "")}
{row("next sweep, 5 min later", "daily", "t_idle", f"{daily['created_again']} written")}

`reminders.dispatch(now=…)` called as a whole: median {ms(statistics.median(dispatch_times))}.

**Cold sweep** (first sweep after go-live or a long outage: the {cold["forgotten"]:,} outbox rows of
the visits due in the next {max(points)} days removed first, in the same rolled-back transaction):

| step | median | min – max | rows |
|---|---|---|---|
{row("`create_due_reminders`", "cold", "t_create", f"{cold['created']:,} written")}
{row("`sendable`", "cold", "t_sendable", f"{cold['sendable']:,} ids")}
{row("`enqueue` (Redis)", "cold", "t_enqueue", cold_enqueue)}
{row("**cold dispatch**", "cold", "t_total", "")}

{unit_costs}

**Sending** (issue 9): one worker's `reminders.send` (the `followup.send_message` task's body, one
message after another as a worker of concurrency 1 runs them; the broker's delivery is left out) for
the cold sweep's {rates["messages"]:,} email reminders, each with its .ics (median {rates["size"] / 1024:.1f} KiB), to a
local SMTP sink (aiosmtpd's Sink, in its own process), in a transaction rolled back afterwards; the
floor is a plain smtplib loop sending the same bytes to the same sink over one connection.

| sender | messages | seconds | sends/s | / floor |
|---|---:|---:|---:|---:|
| `reminders.send`, one worker | {rates["messages"]:,} | {rates["app_seconds"]:.2f} | {rates["app_rate"]:,.0f} | {rates["app_rate"] / rates["floor_rate"]:.0%} |
| floor: smtplib loop | {rates["messages"]:,} | {rates["floor_seconds"]:.2f} | {rates["floor_rate"]:,.0f} | 100% |

Per message the worker claims the row, reads it with the visit, plan, patient and identity
(decrypting the address), checks it is still wanted, renders the words and the .ics, writes them,
opens an SMTP connection (Django's backend, one per message), sends, and records the result.

**Memory**: {rss[0]:.0f} MB resident after set-up, peak {rss[1]:.0f} MB during all the runs.

**Query plans** (EXPLAIN ANALYZE of the queries the code ran, captured as it ran): the
{len(visit_queries)} visit queries (one per reminder point and channel) {"all use" if all_indexed else "do NOT all use"}
the partial index `visit_scheduled_due` ({explained}); `sendable` {"uses `outbox_pending_due`" if sendable_query else "does not use `outbox_pending_due`"}.{seq_note}
Statements per step, daily sweep: {ran}.
The first visit query (14 days, email), down to the index scan:

```
{plan_text}
```

`sendable`:

```
{sendable_text}
```
"""
    write_section(SECTION, body)


if __name__ == "__main__":
    main()
