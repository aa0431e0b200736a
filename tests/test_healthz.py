import json

import pytest
from django.core.cache import cache

from atmp_clinic.celery import WORKER_HEARTBEAT_KEY, app, record_worker_heartbeat
from tests.conftest import run_manage

pytestmark = pytest.mark.django_db


def test_healthy_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()["status"], response.json()["checks"]) == (
        200,
        "ok",
        {"database": "ok", "broker": "ok"},
    )


def test_503_naming_the_broker_when_it_does_not_answer(client, monkeypatch):
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:9/0")
    response = client.get("/healthz")
    body = response.json()
    assert (response.status_code, body["checks"]["database"], body["checks"]["broker"][:6]) == (
        503,
        "ok",
        "error:",
    )


def test_503_naming_the_database_when_it_does_not_answer():
    script = "from django.test import Client; r = Client().get('/healthz', HTTP_HOST='localhost'); print(r.status_code, r.content.decode())"
    result = run_manage("shell", "-c", script, env={"DATABASE_URL": "postgres://postgres@127.0.0.1:9/none"})
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert (status, json.loads(body)["checks"]["database"][:6]) == ("503", "error:")


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
