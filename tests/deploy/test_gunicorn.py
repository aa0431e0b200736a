"""deploy/gunicorn.conf.py, run as every deployment runs it: every line it and the app print is one
JSON object, each request is logged once (by the app, not again by gunicorn), and its workers' metrics
are summed from a directory emptied when it starts."""

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import PROJECT_DIR
from tests.deploy import manifests
from tests.observability.conftest import free_port

TOKEN = "a-scrape-token-0123456789"
LINE_KEYS = {"timestamp", "level", "logger", "message", "request_id"}
REQUESTS = 6
# gunicorn's processes read the test database, which pytest-django creates only for tests that ask.
needs_the_test_database = pytest.mark.django_db


@dataclass
class Gunicorn:
    url: str
    log: Path
    metrics_dir: Path

    def get(self, path: str, **headers: str) -> bytes:
        request = urllib.request.Request(self.url + path, headers=headers)  # noqa: S310 (http://127.0.0.1, above)
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            return answer.read()

    def log_lines(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.strip()]


def wait_until_up(server: Gunicorn, process: subprocess.Popen) -> None:
    deadline = time.time() + 60
    while True:
        try:
            server.get("/healthz")
            return
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                raise AssertionError(f"gunicorn did not start: {server.log.read_text()[-3000:]}") from None
            time.sleep(0.3)


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Gunicorn]:
    """Two gunicorn workers on the test database, configured by deploy/gunicorn.conf.py, after an
    earlier run left a file in the metrics directory; LOG_FORMAT=json, as production's default."""
    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("postgresql"):
        pytest.skip("the web processes need the test database on a server")
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # Not a valid metrics file: read by a scrape, it would fail it.
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")
    port = free_port()
    server = Gunicorn(url=f"http://127.0.0.1:{port}", log=tmp_path / "gunicorn.log", metrics_dir=metrics_dir)
    login = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{login}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": TOKEN,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
    }
    with server.log.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(manifests.DEPLOY_DIR / "gunicorn.conf.py"),
             "atmp_clinic.wsgi"],
            cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until_up(server, process)
            for number in range(REQUESTS):
                server.get("/accounts/login/", **{"X-Request-ID": f"deploy-test-{number:04}"})
            yield server
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.services
@needs_the_test_database
def test_every_line_gunicorn_and_the_app_print_is_one_json_object(gunicorn):
    lines = gunicorn.log_lines()
    assert any(json.loads(line)["logger"] == "gunicorn.error" for line in lines)  # its boot lines
    assert all(json.loads(line).keys() >= LINE_KEYS for line in lines)


@pytest.mark.services
@needs_the_test_database
def test_each_request_is_logged_once(gunicorn):
    """The app's request line only: gunicorn's access line would repeat it, without the request id."""
    mentions = [line for line in gunicorn.log_lines() if "/accounts/login/" in line]
    assert sorted(json.loads(line)["request_id"] for line in mentions) == [
        f"deploy-test-{number:04}" for number in range(REQUESTS)
    ]


@pytest.mark.services
@needs_the_test_database
def test_the_metrics_of_every_worker_are_summed_from_an_emptied_directory(gunicorn):
    answer = gunicorn.get("/metrics", Authorization=f"Bearer {TOKEN}").decode()
    figures = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer)
        for sample in family.samples
    }
    labels = (("method", "GET"), ("status", "200"), ("view", "login"))
    assert (
        (gunicorn.metrics_dir / "counter_1.db").exists(),
        figures[("django_http_responses_total_by_status_view_method_total", labels)],
    ) == (False, REQUESTS)


def gunicorn_config() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gunicorn_conf", manifests.DEPLOY_DIR / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_dead_workers_live_gauges_leave_the_sum(tmp_path, monkeypatch):
    """gunicorn calls child_exit for each worker that exits (max_requests, a timeout, a crash)."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")
    gunicorn_config().child_exit(None, SimpleNamespace(pid=4242))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["counter_4242.db"]
