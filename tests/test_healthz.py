import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from atmp_clinic.celery import app as celery_app
from atmp_clinic.celery import record_worker_heartbeat, worker_heartbeat_key
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
    cache.delete(worker_heartbeat_key("default"))
    assert client.get("/healthz").json()["worker"]["status"] == "no heartbeat yet"


def test_anonymous_and_uncached(client):
    response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"]


@pytest.fixture
def no_heartbeats():
    cache.delete_many([worker_heartbeat_key(queue) for queue in settings.CELERY_TASK_QUEUES])


def test_beat_sends_a_heartbeat_into_every_queue():
    """Only a worker of that queue's pool can run it, so each queue's heartbeat is its pool's."""
    heartbeats = [
        entry
        for entry in celery_app.conf.beat_schedule.values()
        if entry["task"] == record_worker_heartbeat.name
    ]
    assert sorted((entry["args"], entry["options"]["queue"]) for entry in heartbeats) == sorted(
        ((queue,), queue) for queue in settings.CELERY_TASK_QUEUES
    )


def test_reports_each_queues_heartbeat_on_its_own(client, no_heartbeats):
    record_worker_heartbeat("reminders")
    queues = client.get("/healthz").json()["queues"]
    assert {queue: status["status"] for queue, status in queues.items()} == {
        "default": "no heartbeat yet",
        "reminders": "ok",
        "exports": "no heartbeat yet",
        "documents": "no heartbeat yet",
    }


def test_a_stopped_pool_is_reported_stale_and_healthz_still_answers_200(client, no_heartbeats):
    """Web pods must not be taken out or restarted because the exports pool stopped."""
    for queue in settings.CELERY_TASK_QUEUES:
        record_worker_heartbeat(queue)
    cache.set(worker_heartbeat_key("exports"), (timezone.now() - timedelta(minutes=10)).isoformat())
    response = client.get("/healthz")
    exports = response.json()["queues"]["exports"]
    assert (response.status_code, response.json()["status"], exports["status"], exports["age_seconds"]) == (
        200,
        "ok",
        "stale",
        600,
    )


def test_worker_is_still_the_default_queues_pool(client, no_heartbeats):
    record_worker_heartbeat("default")
    body = client.get("/healthz").json()
    assert body["worker"] == body["queues"]["default"]
