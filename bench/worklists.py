"""Worklists at volume (issue 9): the authority's queue, a clinician's due visits and the analyst's
dashboard under 8 concurrent clients against gunicorn, p50/p95 against the framework floor measured
in the same run, written to the "Worklists (issue 9)" section of BENCHMARKS.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/atmp_clinic_bench .venv/bin/python -m bench.worklists

gunicorn runs as deploy/ runs it (its config, 3 workers × 4 threads, DEBUG off) on the database
bench.generate filled, with the cache on Redis (BENCH_CACHE_URL, default db 5), its clock set to
bench.common.NOW (time-machine, ticking) so the pages list what they would that morning whatever the
calendar says. Each person is logged in by a session written as the login page writes it (with
the second factor verified for the reviewer, whose role needs one): the generated users have no
password, and the benchmark times pages, not PBKDF2.

The floor is `/accounts/password/change/` for the same three sessions: an existing page, behind
login, that runs every middleware (session, user, second factor, membership, CSRF, messages,
axes), renders the base layout with its menu and saves the session as every page does, and reads
no clinical data. A page of its own for the benchmark would need a route in production or a
settings switch that production must never turn on; this one is what every page costs before its
own queries. Rounds alternate the pages (floor, then each worklist), each phase 8 clients in closed
loop for --seconds, so a neighbour's load on the machine falls on all of them alike."""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import NOW, ROOT, database_name, machine, now_utc, setup_django, write_section
from bench.load import free_port, gunicorn_command, stop, wait_for_http

SECTION = "Worklists (issue 9)"
CLIENTS = 8
TARGET = 3.0  # p95 at most 3 × the floor's
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/5")
FLOOR = "/accounts/password/change/"
# gunicorn with its clock at NOW: time-machine patches the clock before gunicorn forks its workers.
SERVE = (
    "import sys, time_machine; from datetime import datetime; "
    "time_machine.travel(datetime.fromisoformat(sys.argv.pop(1)), tick=True).start(); "
    "from gunicorn.app.wsgiapp import run; sys.argv[0] = 'gunicorn'; sys.exit(run())"
)


def people() -> dict[str, dict]:
    """The three people and their page: the reviewer of the authority with the most requests in
    review, a clinician of the hospital with the most patients, the analyst."""
    from django.db.models import Count, Q

    from atmp_clinic.accounts.models import Membership, Organisation, Role
    from atmp_clinic.exemptions.models import IN_REVIEW_STATES

    authority = (
        Organisation.objects.filter(kind=Organisation.Kind.AUTHORITY)
        .annotate(n=Count("received_requests", filter=Q(received_requests__state__in=IN_REVIEW_STATES)))
        .order_by("-n", "pk")
        .first()
    )
    hospital = (
        Organisation.objects.filter(kind=Organisation.Kind.HOSPITAL)
        .annotate(n=Count("patients"))
        .order_by("-n", "pk")
        .first()
    )

    def member(role: str, organisation) -> object:
        return (
            Membership.objects.filter(role=role, organisation=organisation, ended_at__isnull=True)
            .select_related("user")
            .order_by("user__username")
            .first()
            .user
        )

    return {
        "authority queue": {"user": member(Role.REVIEWER, authority), "url": "/", "of": authority.name},
        "clinician due visits": {"user": member(Role.CLINICIAN, hospital), "url": "/", "of": hospital.name},
        "analyst dashboard": {
            "user": member(Role.ANALYST, None),
            "url": "/dashboard/",
            "of": "all hospitals",
        },
    }


def session_for(user) -> str:
    """A session key, written as logging in (and, where the role asks, the second factor) writes it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from atmp_clinic.accounts.selectors import second_factor_required

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if second_factor_required(user=user):
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, confirmed=True, defaults={"name": "Authenticator app"}
        )
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
    store.set_expiry(24 * 3600)  # the run outlasts the idle timeout; the server renews it anyway
    store.create()
    assert settings.SESSION_COOKIE_NAME
    return store.session_key


def phase(base: str, url: str, cookies: list[str], seconds: float) -> list[float]:
    """CLIENTS clients in closed loop on `url` for `seconds`; each request's latency in seconds."""
    import requests
    from django.conf import settings

    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        with requests.Session() as http:
            http.cookies.set(settings.SESSION_COOKIE_NAME, cookies[index % len(cookies)])
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = http.get(base + url, allow_redirects=False, timeout=120)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    errors.append(f"{url}: {response.status_code} {response.headers.get('Location', '')}")
                    return
                latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, the first: {errors[0]}")
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def rows_listed(person: dict) -> str:
    """How much each page has to show at this volume, as the selectors see it at NOW."""
    from atmp_clinic.exemptions.selectors import worklist_for
    from atmp_clinic.followup.selectors import clinician_worklist
    from atmp_clinic.registry.selectors import expedited_report_queue

    user = person["user"]
    if person["url"] == "/dashboard/":
        return ""
    membership = user.memberships.get(ended_at__isnull=True)
    if membership.role == "reviewer":
        sections = worklist_for(user=user, membership=membership)
        listed = ", ".join(f"{len(s.rows)} {s.title.lower()}" for s in sections)
        return f"{listed}; {expedited_report_queue(user=user).count()} expedited reports"
    sections = clinician_worklist(user=user, today=NOW.date()).sections
    return ", ".join(f"{len(s.rows)} {s.title.lower()}" for s in sections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8, help="length of each phase (default 8)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md as it is")
    args = parser.parse_args()
    url = setup_django()

    who = people()
    cookies = {name: session_for(person["user"]) for name, person in who.items()}
    listed = {name: rows_listed(person) for name, person in who.items()}
    port = free_port()
    command, extra = gunicorn_command(port=port, workers=3)
    command = [sys.executable, "-c", SERVE, NOW.isoformat(), *command[3:]]
    env = {
        **os.environ, **extra, "DATABASE_URL": url, "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1",
        "CACHE_URL": CACHE_URL, "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    log_path = Path(tempfile.mkdtemp(prefix="atmp-worklists-")) / "gunicorn.log"
    base = f"http://127.0.0.1:{port}"
    latencies: dict[str, list[float]] = {"floor": [], **{name: [] for name in who}}
    load_before = os.getloadavg()[0]
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"{base}/healthz", timeout=60, process=server)
        everyone = list(cookies.values())
        for name, person in who.items():  # warm-up: imports, template caches, each worker's connection
            phase(base, person["url"], [cookies[name]], 2)
        phase(base, FLOOR, everyone, 2)
        for round_number in range(args.rounds):
            latencies["floor"] += phase(base, FLOOR, everyone, args.seconds)
            for name, person in who.items():
                latencies[name] += phase(base, person["url"], [cookies[name]], args.seconds)
            print(f"round {round_number + 1}: " + ", ".join(
                f"{name} p95 {percentile(values, 0.95) * 1000:.0f} ms" for name, values in latencies.items()
            ), flush=True)  # fmt: skip
    finally:
        stop(server)
    load_after = os.getloadavg()[0]
    floor = {"p50": percentile(latencies["floor"], 0.5), "p95": percentile(latencies["floor"], 0.95)}
    results = {}
    for name, values in latencies.items():
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        results[name] = {
            "n": len(values), "p50": p50, "p95": p95, "mean": statistics.fmean(values),
            "r50": p50 / floor["p50"], "r95": p95 / floor["p95"],
        }  # fmt: skip
        print(
            f"{name:22} {len(values):5} requests  p50 {p50 * 1000:7.1f} ms ({results[name]['r50']:.1f}× floor)  "
            f"p95 {p95 * 1000:7.1f} ms ({results[name]['r95']:.1f}× floor)"
        )
    if not args.no_write:
        report(who=who, listed=listed, results=results, args=args, load=(load_before, load_after), url=url)
        print(f"Wrote the section {SECTION!r} of BENCHMARKS.md")


def pinned_queries() -> dict[str, str]:
    """The queries per page that tests/test_worklist_query_counts.py pins, as it pins them now."""
    source = (ROOT / "tests" / "test_worklist_query_counts.py").read_text()
    return dict(re.findall(r"^([A-Z_]+) = (\d+)", source, re.MULTILINE))


def report(*, who, listed, results, args, load, url) -> None:
    box = machine()
    pinned = pinned_queries()
    shared = f" (on {box['cores']} cores: other work shared the machine)" if max(load) > 0.5 else ""
    rows = []
    for name, figures in results.items():
        page = FLOOR if name == "floor" else who[name]["url"]
        ratio = "1" if name == "floor" else f"{figures['r50']:.1f}×"
        ratio95 = "1" if name == "floor" else f"{figures['r95']:.1f}×"
        met = "" if name == "floor" else ("met" if figures["r95"] <= TARGET else "**missed**")
        rows.append(
            f"| {name} (`{page}`) | {figures['n']:,} | {figures['p50'] * 1000:.0f} ms | {ratio} | "
            f"{figures['p95'] * 1000:.0f} ms | {ratio95} | {met} |"
        )
    people_lines = "\n".join(
        f"- {name}: `{person['user'].username}` ({person['of']})"
        + (f": {listed[name]}" if listed[name] else "")
        for name, person in who.items()
    )
    body = f"""
Issue 9: each worklist under {CLIENTS} concurrent clients, p50 and p95 against the framework floor
measured in the same run. Target: p95 at most {TARGET:.0f}× the floor's.

**Run it**: `make bench-worklists` (= `.venv/bin/python -m bench.worklists`; `--seconds`, `--rounds`,
`--no-write`) after `make bench-generate`.

gunicorn as deploy/ runs it (3 workers × 4 threads, DEBUG off) on `{database_name(url)}`, cache on
Redis, its clock at {NOW:%Y-%m-%d %H:%M} UTC (bench.common.NOW, ticking) so each page lists what it
would that morning. Sessions are written as logging in writes them (the reviewer's with the second
factor verified). **The floor** is `{FLOOR}` with the same sessions: an existing page behind login
that runs every middleware, renders the base layout and saves the session as every page does, and
reads no clinical data; a benchmark-only route would have to exist in production or behind a
switch production must never turn on. Phases of {args.seconds:.0f} s, {CLIENTS} clients in closed loop on one
page, alternating floor and worklists over {args.rounds} rounds.

The people and what their page lists:

{people_lines}

| page | requests | p50 | p50 / floor | p95 | p95 / floor | p95 ≤ {TARGET:.0f}× floor |
|---|---:|---:|---:|---:|---:|---|
{chr(10).join(rows)}

Queries per page are fixed whatever the data (tests/test_worklist_query_counts.py, 2 rows against
more than a page: reviewer {pinned["REVIEWER_HOME"]}, clinician {pinned["CLINICIAN_HOME"]}, analyst
dashboard {pinned["ANALYST_DASHBOARD_COMPUTED"]} computing its figures, {pinned["ANALYST_DASHBOARD_KEPT"]} showing
them kept). Each worklist section shows its 10 most urgent rows and its total, and pages through the
rest (`?<section>=<page>`).
The dashboard shows figures kept up to 15 minutes (registry.dashboards; beat recomputes the
analyst's every 5): the warm-up computes them, so its phases time the page as analysts get it.

**Measured** {now_utc():%Y-%m-%d %H:%M} UTC on {box["cores"]} cores ({box["cpu"]}), {box["ram"]} RAM, {box["os"]};
{box["python"]}; PostgreSQL {box["postgresql"]} and Redis on the same machine, with the clients;
load average {load[0]:.1f} before and {load[1]:.1f} after{shared}.
"""
    write_section(SECTION, body)


if __name__ == "__main__":
    main()
