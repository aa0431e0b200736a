import json

import pytest
from django.core.cache import cache

from atmp_clinic.celery import WORKER_HEARTBEAT_KEY, record_worker_heartbeat
from tests.conftest import run_manage

pytestmark = pytest.mark.django_db


def test_healthy_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()["status"], response.json()["checks"]) == (
        200,
        "ok",
        {"database": "ok", "broker": "ok"},
    )


def healthz_in_a_fresh_process(env: dict) -> tuple[int, dict]:
    """GET /healthz in a process whose settings were read from `env`: a service really down."""
    script = "from django.test import Client; r = Client().get('/healthz', HTTP_HOST='localhost'); print(r.status_code, r.content.decode())"
    result = run_manage("shell", "-c", script, env=env)
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    return int(status), json.loads(body)["checks"]


def test_503_naming_the_broker_when_it_does_not_answer(tmp_path):
    # Its own SQLite file: the configured database may exist only as pytest's test database.
    env = {"CELERY_BROKER_URL": "redis://127.0.0.1:9/0", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    status, checks = healthz_in_a_fresh_process(env)
    assert (status, checks["database"], checks["broker"][:6]) == (503, "ok", "error:")


def test_503_naming_the_database_when_it_does_not_answer():
    status, checks = healthz_in_a_fresh_process({"DATABASE_URL": "postgres://postgres@127.0.0.1:9/none"})
    assert (status, checks["database"][:6], checks["broker"]) == (503, "error:", "ok")


def test_reports_the_workers_last_heartbeat(client):
    record_worker_heartbeat()
    worker = client.get("/healthz").json()["worker"]
    assert (worker["status"], worker["age_seconds"] < 5) == ("ok", True)


def test_reports_no_heartbeat_before_a_worker_ran(client):
    cache.delete(WORKER_HEARTBEAT_KEY)
    assert client.get("/healthz").json()["worker"]["status"] == "no heartbeat yet"


def test_anonymous_and_uncached(client):
    response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"]
