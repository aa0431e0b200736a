"""Real worker processes on the configured broker (Redis in CI) answer the health task, each pool
only the heartbeat of its own queue; the documents pool builds an annual report asked for."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from celery.beat import Scheduler
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from atmp_clinic.accounts.models import User
from atmp_clinic.celery import app as celery_app
from atmp_clinic.celery import record_worker_heartbeat, worker_heartbeat_key
from atmp_clinic.documents import annual_report
from atmp_clinic.documents.services import annual_report_request
from atmp_clinic.health import check_broker
from tests.conftest import PROJECT_DIR, database_url_of_the_test, require_service


def start_worker(queues: str, env: dict | None = None) -> subprocess.Popen:
    broker = check_broker()
    require_service("the Celery broker", None if broker == "ok" else broker)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "--app", "atmp_clinic", "worker", "--pool", "solo",
         "--queues", queues, "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=PROJECT_DIR,
        env=os.environ | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def worker() -> Iterator[str]:
    """A worker on a queue of its own, so that no other worker takes the test's tasks."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    process = start_worker(queue)
    yield queue
    stop(process)


@pytest.fixture
def reminders_worker() -> Iterator[None]:
    """The reminders pool alone, as when the other pools have stopped. This test's broker database is
    its own, so no other worker consumes these queues; what is left in them is purged."""
    keys = [worker_heartbeat_key(queue) for queue in settings.CELERY_TASK_QUEUES]
    cache.delete_many(keys)
    process = start_worker("reminders")
    yield
    stop(process)
    with celery_app.connection_for_write() as connection:
        for queue in settings.CELERY_TASK_QUEUES:
            connection.default_channel.queue_purge(queue)
    cache.delete_many(keys)


@pytest.fixture
def documents_worker(transactional_db, settings, tmp_path) -> Iterator[None]:
    """The documents pool on the test's database and media folder. This test's broker database is
    its own, so no other worker consumes the queue; what is left in it is purged."""
    settings.MEDIA_ROOT = tmp_path
    process = start_worker(
        "documents", {"DATABASE_URL": database_url_of_the_test(), "MEDIA_ROOT": str(tmp_path)}
    )
    yield
    stop(process)
    with celery_app.connection_for_write() as connection:
        connection.default_channel.queue_purge("documents")


@pytest.mark.services
def test_the_documents_pool_builds_an_annual_report_asked_for_on_the_page(documents_worker, demo):
    """Asked for through the service as the page does, routed to the documents queue, built by
    another process that writes its steps where the page reads them, and issued there."""
    pharmacist = User.objects.get(username="pharmacist")
    hospital = pharmacist.memberships.get().organisation
    job = annual_report_request(actor=pharmacist, hospital=hospital, year=timezone.localdate().year)
    sent_at = time.time()
    while job.status in ("queued", "running") and time.time() - sent_at < 120:
        time.sleep(0.5)
        job.refresh_from_db()
    assert (job.status, job.step, job.steps) == ("done", annual_report.BUILD_STEPS, annual_report.BUILD_STEPS)
    assert job.document.file.open("rb").read().startswith(b"%PDF")


@pytest.mark.services
def test_worker_answers_the_health_task(worker):
    cache.delete(worker_heartbeat_key("default"))
    sent_at = time.time()
    record_worker_heartbeat.apply_async(queue=worker)
    while cache.get(worker_heartbeat_key("default")) is None and time.time() - sent_at < 60:
        time.sleep(0.2)
    assert cache.get(worker_heartbeat_key("default")) is not None


@pytest.mark.services
@pytest.mark.django_db
def test_only_the_running_pool_answers_its_queues_heartbeat(reminders_worker, client):
    """Beat's heartbeat entries, sent as beat sends them: the reminders pool answers its own; the
    queues without a running pool stay without one, reported while /healthz answers 200."""
    scheduler = Scheduler(app=celery_app)
    for entry in scheduler.schedule.values():
        if entry.task == record_worker_heartbeat.name:
            scheduler.apply_async(entry)
    sent_at = time.time()
    while cache.get(worker_heartbeat_key("reminders")) is None and time.time() - sent_at < 60:
        time.sleep(0.2)
    time.sleep(1)  # had another pool's heartbeat reached this worker, it would have run by now
    response = client.get("/healthz")
    statuses = {queue: status["status"] for queue, status in response.json()["queues"].items()}
    assert (response.status_code, statuses) == (
        200,
        {
            "default": "no heartbeat yet",
            "reminders": "ok",
            "exports": "no heartbeat yet",
            "documents": "no heartbeat yet",
        },
    )
