"""A real worker process on the configured broker (Redis in CI) answers the health task."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.core.cache import cache

from atmp_clinic.celery import WORKER_HEARTBEAT_KEY, record_worker_heartbeat
from atmp_clinic.health import check_broker
from tests.conftest import PROJECT_DIR, require_service


@pytest.fixture
def worker():
    """A worker on a queue of its own, so that no other worker takes the test's tasks."""
    broker = check_broker()
    require_service("the Celery broker", None if broker == "ok" else broker)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "--app", "atmp_clinic", "worker", "--pool", "solo",
         "--queues", queue, "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=PROJECT_DIR,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    yield queue
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.services
def test_worker_answers_the_health_task(worker):
    cache.delete(WORKER_HEARTBEAT_KEY)
    sent_at = time.time()
    record_worker_heartbeat.apply_async(queue=worker)
    while cache.get(WORKER_HEARTBEAT_KEY) is None and time.time() - sent_at < 60:
        time.sleep(0.2)
    assert cache.get(WORKER_HEARTBEAT_KEY) is not None
