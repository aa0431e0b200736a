"""What the fault tests share: a PostgreSQL cluster of their own (initdb into a temporary folder,
seeded once with the demo, each test on a copy), a redis-server of their own, and the app served by
gunicorn in a subprocess on a free port, as deploy/ runs it. Nothing here touches the machine's own
PostgreSQL or Redis. A missing piece (PostgreSQL's server binaries, redis-server, root for a tmpfs)
skips the tests, or fails them under REQUIRE_SERVICES=1."""

import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import requests

from bench.load import free_port, gunicorn_command, log_in, totp_keys, wait_for_http
from tests.conftest import PROJECT_DIR, require_service

# The test process's own DATABASE_URL / CELERY_BROKER_URL are the suite's; the servers started here
# get these instead.
SECRET_KEY = "faults-" + secrets.token_urlsafe(40)
ERROR_PAGE = "Something went wrong on our side"  # templates/500.html
HTTP_TIMEOUT = 20  # seconds a client waits for an answer before calling it a hang


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "faults: a fault injected into a running app (tests/faults); -m faults"
    )


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/faults/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.faults)
            item.add_marker(pytest.mark.services)


def pg_bindir() -> Path | None:
    candidates = [os.environ.get("PG_BINDIR", ""), "/usr/lib/postgresql/15/bin"]
    if pg_config := shutil.which("pg_config"):
        candidates.append(
            subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        )
    return next((Path(c) for c in candidates if c and (Path(c) / "initdb").exists()), None)


def as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Postgres:
    """A cluster of our own: initdb into a temporary folder, served on a free port of loopback and a
    socket in that folder."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="atmp-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def run(self, *args: str, timeout: int = 60) -> subprocess.CompletedProcess:
        done = subprocess.run(
            as_postgres([str(self.bindir / args[0]), *args[1:]]),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr or done.stdout}")
        return done

    def init(self) -> None:
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--no-sync",
        )

    def pg_ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        )
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            *extra,
            action,
        )

    def start(self) -> None:
        self.pg_ctl("start")

    def restart(self) -> None:
        self.pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.pg_ctl("stop", "-m", "immediate")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def execute(self, name: str, sql: str, params=()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(name), autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


SEED = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, os.getcwd())
    import django
    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    call_command("migrate", "--noinput", verbosity=0)
    from tests.conftest import seed_demo_fast  # the suite's demo, with quick hashing while seeding
    seed_demo_fast()
    from atmp_clinic.accounts.demo import DEMO_PASSWORD, seed_second_factors
    seed_second_factors()  # people log in here as `make run`'s demo has them: with its authenticator
    from atmp_clinic.accounts.models import User
    User.objects.update(password=make_password(DEMO_PASSWORD))  # what the login checks: real hashing
    """
)


def server_env(*, database_url: str, broker_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "atmp_clinic.settings",
        "DJANGO_ENV": "development",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "VAR_DIR": str(var_dir),
        # Nothing shared with the suite's own services: cache, mail and uploads in the folder too.
        "CACHE_URL": f"filecache://{var_dir / 'cache'}",
        "EMAIL_URL": f"filemail://{var_dir / 'mail'}",
        "MEDIA_ROOT": str(var_dir / "media"),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture(scope="session")
def own_postgres():
    """Our own cluster, with the demo migrated and seeded once into the database `demo`, which each
    test copies (CREATE DATABASE … TEMPLATE demo)."""
    bindir = pg_bindir()
    require_service(
        "PostgreSQL's server binaries (initdb, pg_ctl)", None if bindir else "initdb was not found"
    )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            require_service(
                "a postgres user to run initdb as", "running as root and there is no user postgres"
            )
    cluster = Postgres(bindir)
    try:
        cluster.init()
        cluster.start()
        cluster.execute("postgres", "CREATE DATABASE demo")
        var_dir = Path(tempfile.mkdtemp(prefix="atmp-faults-seed-"))
        env = server_env(database_url=cluster.url("demo"), broker_url="filesystem://", var_dir=var_dir)
        seeded = subprocess.run(
            [sys.executable, "-c", SEED],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        shutil.rmtree(var_dir, ignore_errors=True)
        assert seeded.returncode == 0, f"seeding the demo failed:\n{seeded.stderr[-3000:]}"
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture
def database(own_postgres, request):
    """A copy of the seeded demo for this test: its name."""
    name = "t_" + re.sub(r"\W", "_", request.node.name)[:40].lower()
    own_postgres.execute("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    own_postgres.execute("postgres", f'CREATE DATABASE "{name}" TEMPLATE demo')
    return name


class Redis:
    def __init__(self, binary: str):
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis():
    binary = shutil.which("redis-server")
    require_service("redis-server", None if binary else "redis-server is not on the PATH")
    server = Redis(binary)
    server.start()
    yield server
    server.stop()


class App:
    """gunicorn serving the app in a subprocess, on a free port of loopback."""

    def __init__(self, env: dict[str, str], var_dir: Path, workers: int = 2):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "SITE_URL": self.base}
        self.var_dir = var_dir
        self.log = var_dir / "gunicorn.log"
        command, extra = gunicorn_command(port=self.port, workers=workers)
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, cwd=PROJECT_DIR, env={**self.env, **extra, "GUNICORN_TIMEOUT": "30"},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_for_http(f"{self.base}/healthz", timeout=60, process=self.process)

    def session(self, username: str, keys: dict) -> requests.Session:
        session = requests.Session()
        log_in(session, self.base, username, totp_keys=keys, timeout=HTTP_TIMEOUT)
        return session

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def serve():
    """serve(database_url=…, broker_url=…, **env) starts the app; every one started is stopped."""
    started: list[App] = []
    folders: list[Path] = []

    def start(*, database_url: str, broker_url: str, **extra: str) -> App:
        var_dir = Path(tempfile.mkdtemp(prefix="atmp-faults-var-"))
        folders.append(var_dir)
        app = App(
            server_env(database_url=database_url, broker_url=broker_url, var_dir=var_dir, **extra), var_dir
        )
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def keys(own_postgres, database):
    """The demo's published TOTP keys (none before the second factor exists)."""
    return totp_keys(own_postgres.url(database))
