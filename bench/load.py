"""Load (issue 8): the demo served by gunicorn with a Celery worker, 50 people at once across the
roles for a few minutes (bench/locustfile.py, driven headless by locust), and p50/p95/p99 per page
with every failure and its cause written to the "Load (issue 8)" section of BENCHMARKS.md.

    .venv/bin/python -m bench.load                 # make bench-load; 3 minutes
    .venv/bin/python -m bench.load --duration 60 --no-write

It creates the PostgreSQL database `atmp_clinic_load` afresh (refuses a name not ending in _load),
migrates it and seeds the demo (`manage.py seed_demo`, about a minute), then starts gunicorn
(DEBUG off, the deploy config's threads) on a free port and a Celery worker on Redis database 5,
both with a var/ folder of their own, and runs locust headless. Processes it started are stopped at
the end; the database is left for inspection and dropped by the next run.

`log_in` is also how the fault tests (tests/faults/) log in: the login page's form, then the
second factor's code when a page asks for one (TOTP, RFC 6238, from the key of the user's confirmed
authenticator, read from the database by `totp_keys`)."""

import argparse
import csv
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "demo-pass-2026"  # published in the README for the demo
SECTION = "Load (issue 8)"
START_MARK = "<!-- bench.load: start (written by `python -m bench.load`; edits inside are lost) -->"
END_MARK = "<!-- bench.load: end -->"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/atmp_clinic_load"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/5"

# --- logging in (shared with tests/faults) -------------------------------------------------------

CSRF_INPUT = re.compile(
    r'name="csrfmiddlewaretoken"\s+value="([^"]+)"|value="([^"]+)"\s+name="csrfmiddlewaretoken"'
)
# What a page asking for the authenticator's code calls the field (ours: "code"; django-otp's own
# login form: "otp_token").
CODE_INPUT = re.compile(r'<input[^>]*\bname="(code|otp_token|token)"')
PASSWORD_INPUT = re.compile(r'<input[^>]*\bname="password"')


class LoginFailed(Exception):
    pass


def totp(key_hex: str, *, step: int = 30, t0: int = 0, digits: int = 6, at: float | None = None) -> str:
    """The code an authenticator app shows now for a django-otp TOTP device's hex key (RFC 6238)."""
    counter = int(((time.time() if at is None else at) - t0) // step)
    mac = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{value:0{digits}d}"


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    if not match:
        raise LoginFailed("no CSRF token on the page")
    return match.group(1) or match.group(2)


def log_in(session, base: str, username: str, password: str = DEMO_PASSWORD, *, totp_keys=None, **kwargs):
    """Log `session` (requests.Session, or locust's HttpSession with base "") in through the login
    page as a browser would; when the login page, or the page it leads to, asks for the second
    factor's code, post the code of the user's authenticator (`totp_keys`: username -> device
    settings, see `totp_keys`). Returns the last response; raises LoginFailed with the reason."""
    login_url = f"{base}/accounts/login/"
    page = session.get(login_url, **kwargs)
    if page.status_code != 200:
        raise LoginFailed(f"{username}: the login page answered {page.status_code}")
    form = {"csrfmiddlewaretoken": csrf_token(page.text), "username": username, "password": password}
    field = CODE_INPUT.search(page.text)
    if field:  # one form with password and code
        form[field.group(1)] = _code_for(username, totp_keys)
    response = session.post(login_url, data=form, headers={"Referer": page.url}, **kwargs)
    if response.status_code >= 400:
        raise LoginFailed(f"{username}: the login answered {response.status_code}")
    field = CODE_INPUT.search(response.text)
    if field and not PASSWORD_INPUT.search(response.text):  # a page of its own for the code
        if "setup" in urlsplit(response.url).path:
            raise LoginFailed(
                f"{username}: asked to set up a second factor (the demo has none for this user)"
            )
        code_page = response
        response = session.post(
            code_page.url,
            data={
                "csrfmiddlewaretoken": csrf_token(code_page.text),
                field.group(1): _code_for(username, totp_keys),
            },
            headers={"Referer": code_page.url},
            **kwargs,
        )
        if response.status_code >= 400 or CODE_INPUT.search(response.text):
            raise LoginFailed(f"{username}: the second factor's code was refused ({response.status_code})")
    if urlsplit(response.url).path.rstrip("/").endswith("accounts/login") or PASSWORD_INPUT.search(
        response.text
    ):
        raise LoginFailed(f"{username}: still on the login page after posting the password")
    return response


def _code_for(username: str, totp_keys) -> str:
    device = (totp_keys or {}).get(username)
    if not device:
        raise LoginFailed(f"{username}: the page asks for a second factor's code, but no TOTP key is known")
    return totp(
        device["key"], step=device.get("step", 30), t0=device.get("t0", 0), digits=device.get("digits", 6)
    )


TOTP_KEYS_SQL = """
    SELECT u.username, d.key, d.step, d.t0, d.digits
    FROM otp_totp_totpdevice d JOIN accounts_user u ON u.id = d.user_id
    WHERE d.confirmed ORDER BY d.id
"""


def totp_keys(database_url: str) -> dict[str, dict]:
    """username -> {"key", "step", "t0", "digits"} of each confirmed authenticator (django-otp's
    TOTP devices; the demo publishes the keys of its users); {} where there is no such table."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('otp_totp_totpdevice')").fetchone()[0]
        if not exists:
            return {}
        rows = conn.execute(TOTP_KEYS_SQL).fetchall()
    return {
        name: {"key": key, "step": step, "t0": t0, "digits": digits} for name, key, step, t0, digits in rows
    }


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answers, if not with 200
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def stop(process: subprocess.Popen, *, timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def gunicorn_command(*, port: int, workers: int) -> tuple[list[str], dict[str, str]]:
    """gunicorn as deploy/ runs it (its config: threads, timeout, max_requests), on loopback."""
    return (
        [
            sys.executable,
            "-m",
            "gunicorn",
            "atmp_clinic.wsgi",
            "--config",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
        ],
        {
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(workers),
            # 50 simulated people share the demo's 20 accounts: per-user API limits would count
            # several people as one (tests/api/test_throttling.py proves the limits).
            "API_RATE_PER_MINUTE": "100000",
            "API_RATE_PER_HOUR": "1000000",
        },
    )


# --- the run -------------------------------------------------------------------------------------


def reset_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def manage(env: dict, *args: str, timeout: int = 900) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def machine(database_url: str) -> dict[str, str]:
    import platform

    import psycopg

    meminfo = Path("/proc/meminfo").read_text()
    ram_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    with psycopg.connect(database_url) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
        max_conn = conn.execute("SHOW max_connections").fetchone()[0]
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "ram": f"{ram_kb / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "postgresql": f"{pg} (shared_buffers {buffers}, max_connections {max_conn})",
        "os": f"{platform.system()} {platform.release()}",
    }


def read_stats(prefix: Path) -> tuple[list[dict], list[dict], list[dict]]:
    def rows(suffix):
        path = Path(f"{prefix}_{suffix}.csv")
        if not path.exists():
            return []
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle))

    return rows("stats"), rows("failures"), rows("exceptions")


def server_errors(log: Path) -> list[str]:
    """Each kind of 5xx in gunicorn's log, counted: the path, the deepest frame of our code and the
    exception, from the traceback Django logs; then gunicorn's own complaints (worker timeouts)."""
    if not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    kinds: dict[tuple[str, str, str], int] = {}
    for index, line in enumerate(lines):
        if not line.startswith("Traceback") or index == 0:
            continue
        line_path = re.search(r"Internal Server Error: (\S+)", lines[index - 1])
        path = line_path.group(1) if line_path else lines[index - 1].strip()[:80]
        ours, end = "", index + 1
        while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
            frame = re.match(r'\s+File "(?:.*/)?(atmp_clinic/[^"]+)", line (\d+), in (\S+)', lines[end])
            if frame:
                ours = f"{frame.group(1)}:{frame.group(2)} ({frame.group(3)})"
            end += 1
        exception = lines[end].strip()[:160] if end < len(lines) else "?"
        key = (re.sub(r"/\d+/", "/[id]/", path), ours, exception)
        kinds[key] = kinds.get(key, 0) + 1
    found = [
        f"{count} × `{path}`: {exception}" + (f", in {ours}" if ours else "")
        for (path, ours, exception), count in sorted(kinds.items(), key=lambda item: -item[1])
    ]
    found += sorted(
        {line.strip()[:160] for line in lines if "WORKER TIMEOUT" in line or "was sent SIGKILL" in line}
    )
    return found


def ms(value: str) -> str:
    number = float(value or 0)
    return f"{number:,.0f}" if number >= 10 else f"{number:.1f}"


def render(
    args, *, info, before, after, stats, failures, exceptions, errors, started, elapsed, workers, seed_s
) -> str:
    pages = [row for row in stats if row["Name"] != "Aggregated"]
    total = next((row for row in stats if row["Name"] == "Aggregated"), None)
    pages.sort(key=lambda row: (row["Name"].split(" ", 1)[0], -int(row["Request Count"])))
    table = [
        "| page | requests | failures | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in pages:
        table.append(
            f"| {row['Type']} `{row['Name']}` | {int(row['Request Count']):,} | {int(row['Failure Count']):,} "
            f"| {ms(row['50%'])} | {ms(row['95%'])} | {ms(row['99%'])} | {ms(row['Max Response Time'])} |"
        )
    if total:
        table.append(
            f"| **all** | **{int(total['Request Count']):,}** | **{int(total['Failure Count']):,}** "
            f"| **{ms(total['50%'])}** | **{ms(total['95%'])}** | **{ms(total['99%'])}** | {ms(total['Max Response Time'])} |"
        )
    failed = int(total["Failure Count"]) if total else 0
    if failed or exceptions:
        lines = [
            "**Failures**, by error (locust's record), then the causes of the 5xx in gunicorn's log:",
            "",
        ]
        by_error: dict[str, list[tuple[int, str]]] = {}
        for row in failures:
            status = re.match(r"HTTPError\('(\d+ [^:]*)", row["Error"])
            error = f"HTTP {status.group(1)}" if status else row["Error"]
            by_error.setdefault(error, []).append(
                (int(row["Occurrences"]), f"{row['Method']} `{row['Name']}`")
            )
        for error, pages in sorted(by_error.items(), key=lambda item: -sum(n for n, _ in item[1])):
            pages.sort(reverse=True)
            where = ", ".join(f"{page} {n}" for n, page in pages)
            lines.append(f"- {sum(n for n, _ in pages)} × {error}: {where}")
        lines += [f"- {row['Count']} × exception in the scenario: {row['Message']}" for row in exceptions]
        lines += [f"- server: {line}" for line in errors]
        failure_text = "\n".join(lines)
    else:
        failure_text = (
            "**Failures: none** (no request answered an error or timed out; no 5xx in gunicorn's log)."
        )
    rate = float(total["Requests/s"]) if total else 0.0
    cores = int(info["cores"])
    busy = f" (on {cores} cores: other work shared the machine)" if float(before) > cores / 2 else ""
    return f"""{START_MARK}
Issue 8: 50 people at once across the roles, for {args.duration // 60} minutes{"" if args.duration % 60 == 0 else f" {args.duration % 60} s"}, against gunicorn
({workers} workers × the deploy config's threads, DEBUG off) with a Celery worker on Redis and
PostgreSQL on the same machine. The target is no errors at all.

**Run it**

```sh
make bench-load          # = .venv/bin/python -m bench.load (3 minutes; --duration SECONDS, --no-write)
```

It drops and creates `atmp_clinic_load`, migrates, seeds the demo, starts gunicorn and a worker
(broker `redis://127.0.0.1:6379/5`), and drives `bench/locustfile.py` headless. The people:
{args.users} locust users spread by weight over pharmacists (10), clinicians (14), authority
reviewers (12), patients (10) and the analyst (4), on the demo accounts (several users share an
account, as tabs of one person; each account logs in once, through the login page and, where the
page asks for it, the second factor). Each waits 1–5 s between pages: worklists, request, patient,
visit and plan pages, dashboards and their charts, the patient's calendar, now and then a PDF or a
registry CSV export, and the JSON API with the session. `log in` is the login page (GET), then the
password's POST and, for pharmacists and reviewers, the code's POST, each with the redirects it
follows (Django's PBKDF2 hashing on purpose). Response times are locust's (it keeps times over
100 ms to two significant figures).

**Measured** {started:%Y-%m-%d %H:%M} UTC on {info["cores"]} cores ({info["cpu"]}), {info["ram"]} RAM, {info["os"]};
Python {info["python"]}; PostgreSQL {info["postgresql"]} and Redis on the same machine, with
locust itself; load average {before} before and {after} after{busy}. Seeding took {seed_s:.0f} s.
Command: `{args.command}`.

**{int(total["Request Count"]) if total else 0:,} requests** in {elapsed:.0f} s ({rate:.1f}/s), **{failed} failed**.

{chr(10).join(table)}

{failure_text}
{END_MARK}"""


def write_section(path: Path, body: str) -> None:
    """Replace what lies between our markers in the "## Load (issue 8)" section, or append the
    section; every other section of the file is kept as it is."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = re.compile(re.escape(START_MARK) + r".*?" + re.escape(END_MARK), re.S)
    if block.search(text):
        text = block.sub(lambda _: body, text, count=1)
    else:
        text = text.rstrip() + f"\n\n## {SECTION}\n\n{body}\n"
    path.write_text(text)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=180, help="seconds of load (default 180)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started per second")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (2–4 on this machine)")
    parser.add_argument("--database-url", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--broker-url", default=os.environ.get("LOAD_BROKER_URL", DEFAULT_BROKER_URL))
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not urlsplit(args.database_url).path.lstrip("/").endswith("_load"):
        parser.error(
            f"refusing {args.database_url!r}: the load run drops its database, whose name must end in _load"
        )
    args.command = "python -m bench.load" + "".join(
        f" {flag}" for flag in (argv if argv is not None else sys.argv[1:]) if "url" not in flag
    )
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    before = loadavg()
    var_dir = Path(tempfile.mkdtemp(prefix="atmp-load-"))
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_ENV": "development",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": args.database_url,
        "CELERY_BROKER_URL": args.broker_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "VAR_DIR": str(var_dir),
        "CACHE_URL": f"filecache://{var_dir / 'cache'}",
        # django-environ drops the path's first slash: a fourth one keeps it absolute.
        "EMAIL_URL": f"filemail:///{var_dir / 'mail'}",
        "MEDIA_ROOT": str(var_dir / "media"),
        "LOG_LEVEL": "WARNING",
        "SITE_URL": f"http://127.0.0.1:{port}",
    }
    processes: list[subprocess.Popen] = []
    try:
        print(
            f"database {urlsplit(args.database_url).path.lstrip('/')}: created, migrating and seeding the demo …",
            flush=True,
        )
        reset_database(args.database_url)
        manage(env, "migrate", "--noinput")
        seed_started = time.monotonic()
        manage(env, "seed_demo")
        seed_s = time.monotonic() - seed_started
        keys = totp_keys(args.database_url)
        (var_dir / "totp.json").write_text(json.dumps(keys))
        print(f"seeded in {seed_s:.0f} s; TOTP keys for {len(keys)} users", flush=True)

        command, extra = gunicorn_command(port=port, workers=args.workers)
        web_log = var_dir / "gunicorn.log"
        with web_log.open("w") as log:
            processes.append(
                subprocess.Popen(
                    command, cwd=ROOT, env={**env, **extra}, stdout=log, stderr=subprocess.STDOUT
                )
            )
        worker_log = var_dir / "worker.log"
        with worker_log.open("w") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "celery", "--app", "atmp_clinic", "worker", "--concurrency", "1",
                     "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
        host = f"http://127.0.0.1:{port}"
        wait_for_http(f"{host}/healthz", timeout=60, process=processes[0])
        print(
            f"gunicorn on {host} ({args.workers} workers), worker on {args.broker_url}; load for {args.duration} s",
            flush=True,
        )

        prefix = var_dir / "locust"
        load_started = time.monotonic()
        locust = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "--users", str(args.users), "--spawn-rate", str(args.spawn_rate), "--run-time", f"{args.duration}s",
             "--host", host, "--csv", str(prefix), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"],
            cwd=ROOT, env={**env, "LOAD_TOTP_KEYS": str(var_dir / "totp.json")}, text=True,
        )  # fmt: skip
        elapsed = time.monotonic() - load_started
        after = loadavg()
        stats, failures, exceptions = read_stats(prefix)
        errors = server_errors(web_log)
        if not stats:
            print(
                f"locust wrote no figures (exit {locust.returncode}); gunicorn's log: {web_log}",
                file=sys.stderr,
            )
            return 1
        body = render(
            args, info=machine(args.database_url), before=before, after=after, stats=stats, failures=failures,
            exceptions=exceptions, errors=errors, started=started, elapsed=elapsed, workers=args.workers, seed_s=seed_s,
        )  # fmt: skip
        if args.no_write:
            print(body)
        else:
            write_section(args.output, body)
            print(f"written to {args.output} ({SECTION})")
        total = next((row for row in stats if row["Name"] == "Aggregated"), {})
        print(f"{total.get('Request Count')} requests, {total.get('Failure Count')} failed")
        return 0 if int(total.get("Failure Count", 1)) == 0 and not exceptions else 2
    finally:
        for process in reversed(processes):
            stop(process)
        print(f"logs (gunicorn, worker, locust's CSV) in {var_dir}")


if __name__ == "__main__":
    sys.exit(main())
