"""The delivery guarantee (SPEC §5, ARCHITECTURE "Delivery guarantee"), end to end: a real Redis
broker (a redis-server of this test's own, so that stopping it disturbs nobody), real Celery worker
processes and a real SMTP server on loopback, with a batch of a few hundred reminders.

- Dispatching twice sends nothing twice.
- A worker killed (SIGKILL) mid-batch and started again: no reminder is received twice, every
  reminder that was not in flight at the kill is received, and the few in flight (at most the
  worker's concurrency) stay visible as "sending" for an operator's resend.
- Redis down for a minute: the web app keeps answering, a sweep returns at once without raising,
  and the reminders go out once Redis is back.

The worker processes must see the test's rows, so the tests commit (transactional_db) and need
PostgreSQL: SQLite's in-memory test database cannot be shared with another process."""

import asyncio
import email
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta

import kombu.pools
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from atmp_clinic.celery import app as celery_app
from atmp_clinic.followup import reminders
from atmp_clinic.followup.models import FollowUpVisit, Modality, OutboxMessage
from atmp_clinic.followup.services import plan_amend
from tests.conftest import PROJECT_DIR, database_url_of_the_test, require_service
from tests.exemptions.conftest import user
from tests.followup.conftest import enrolled_patient, plan_for

pytestmark = pytest.mark.services

CONCURRENCY = 2
BATCH = 300
# Each message takes the SMTP server this long to accept, so the batch takes several seconds and
# the kill lands in the middle of it.
SMTP_DELAY = 0.05
# The outage the issue names. Redis refuses connections at once while it is down, so a shorter one
# would prove the same; a minute also outlasts the worker's reconnection backoff (2, 4, … 30 s).
OUTAGE_SECONDS = 60
# Neither a sweep nor a page may wait on a broker that is down: the producer gives up after its
# connection timeout (CELERY_BROKER_CONNECTION_TIMEOUT, 3 s) and one quick retry
# (CELERY_TASK_PUBLISH_RETRY_POLICY); /healthz's own check tries twice.
PROMPT_SECONDS = 5
# The queue the send tasks go to; the test's workers consume it alone, as deploy/'s reminder workers do.
SEND_QUEUE = settings.CELERY_TASK_ROUTES["followup.send_message"]["queue"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, *, timeout: float, what: str, every: float = 0.2, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    tail = f"\n--- worker log ---\n{log()[-4000:]}" if log else ""
    raise AssertionError(f"gave up after {timeout} s waiting for {what}{tail}")


class RedisServer:
    """A redis-server of this test's own on a free port, without persistence: stopped and started
    again on the same port, as an outage looks to its clients."""

    def __init__(self, directory):
        self.port, self.directory, self.process = free_port(), directory, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self.answers, timeout=10, what="redis-server to start")

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        assert not self.answers()


@pytest.fixture(scope="module", autouse=True)
def _services():
    """Checked before any other fixture, so that a skipped test does not empty the database."""
    require_service(
        "PostgreSQL", None if connection.vendor == "postgresql" else "the test database is SQLite"
    )
    require_service("redis-server", None if shutil.which("redis-server") else "the binary is not installed")


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def reset_producers() -> None:
    """Celery keeps its broker connections and producers in pools made from the broker URL it
    first used, and kombu keeps producer pools per broker in a registry of its own; all are made
    again from the current URL (a pool closed here and left registered would fail every later
    task sent to that broker, in other tests too)."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu.pools.reset()


@pytest.fixture
def broker(redis_server):
    """This process hands its send tasks to the test's own Redis, as the web app and beat would."""
    conf = celery_app.conf
    names = ("broker_url", "broker_read_url", "broker_write_url", "broker_transport_options")
    before = {name: conf[name] for name in names}
    # The read and write URLs were derived from the broker URL when the app was configured.
    conf.update(
        dict.fromkeys(names[:3], redis_server.url), broker_transport_options={"visibility_timeout": 3600}
    )
    reset_producers()
    yield redis_server
    conf.update(before)
    reset_producers()


class SlowInbox:
    def __init__(self):
        self.message_ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(SMTP_DELAY)
        self.message_ids.append(email.message_from_bytes(envelope.original_content)["Message-ID"])
        return "250 OK"

    def received(self, keys) -> Counter:
        """How many times each of these outbox rows' emails arrived (Message-ID = idempotency key)."""
        wanted = {f"<{key}@atmp-clinic>": key for key in keys}
        return Counter(wanted[mid] for mid in list(self.message_ids) if mid in wanted)


@pytest.fixture
def smtp_inbox():
    from aiosmtpd.controller import Controller

    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield inbox
    controller.stop()


class Workers:
    """Celery worker processes on the test's broker, database and SMTP server; each started in a
    session of its own, so that a kill takes its pool's children with it."""

    def __init__(self, *, broker: RedisServer, email_url: str, log_path):
        self.env = os.environ | {
            "DATABASE_URL": database_url_of_the_test(),
            "CELERY_BROKER_URL": broker.url,
            "EMAIL_URL": email_url,
        }
        self.broker, self.log_path, self.process = broker, log_path, None

    def start(self) -> None:
        self.log_from = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "--app", "atmp_clinic", "worker", "--pool", "prefork",
                 "--concurrency", str(CONCURRENCY), "--queues", SEND_QUEUE, "--hostname", f"reminders-{uuid.uuid4().hex[:8]}@%h",
                 "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
                cwd=PROJECT_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL to the worker and its pool: no chance to finish, acknowledge or clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def is_ready(self) -> bool:
        """The worker started last says it is consuming."""
        return " ready." in self.log()[self.log_from :]

    def queued(self) -> int:
        """Send tasks waiting in the broker for a worker."""
        return self.broker.client().llen(SEND_QUEUE)


@pytest.fixture
def worker(transactional_db, broker, smtp_inbox, tmp_path):
    """Named `worker`, so the suite's in-process tasks are off: the sends go to real workers."""
    workers = Workers(broker=broker, email_url=smtp_inbox.url, log_path=tmp_path / "worker.log")
    yield workers
    workers.stop()


def daytime_zone() -> str:
    """A time zone where it is now early afternoon, so that no quiet hours hold the batch back
    whenever the suite runs (a worker process cannot be time-travelled)."""
    offset = 14 - timezone.now().hour  # from +14 (00:xx UTC) to -9 (23:xx UTC)
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # POSIX signs


def reminders_due_tomorrow(count: int) -> list[int]:
    """A patient who consented to email reminders with `count` visits due tomorrow, added to their
    plan by the authority; the plan's own visits are set aside. Returns the visits' ids."""
    plan = plan_for(enrolled_patient(time_zone=daytime_zone()))
    plan.visits.update(status=FollowUpVisit.Status.CANCELLED)
    tomorrow = timezone.localdate() + timedelta(days=1)
    plan_amend(
        actor=user("decider"), plan=plan, reason="Close monitoring after a grade 3 CRS.",
        extra_visits=[{"label": f"Check {n}", "due_on": tomorrow, "window_days": 1, "modality": Modality.PHONE}
                      for n in range(count)],
    )  # fmt: skip
    return list(plan.visits.filter(status=FollowUpVisit.Status.SCHEDULED).values_list("pk", flat=True))


def outbox_of(visit_ids):
    return OutboxMessage.objects.filter(visit__in=visit_ids)


def statuses(visit_ids) -> Counter:
    return Counter(outbox_of(visit_ids).values_list("status", flat=True))


def keys_of(visit_ids, status: str) -> dict[int, str]:
    return dict(outbox_of(visit_ids).filter(status=status).values_list("pk", "idempotency_key"))


def settled(visit_ids, workers: Workers) -> Counter | None:
    """The rows' statuses, once the broker's queue is empty and nothing has changed for a second."""
    before = statuses(visit_ids)
    time.sleep(1)
    after = statuses(visit_ids)
    return after if after == before and workers.queued() == 0 else None


def test_a_worker_killed_mid_batch_sends_nothing_twice(worker, smtp_inbox):
    visits = reminders_due_tomorrow(BATCH)
    worker.start()
    first, second = reminders.dispatch(), reminders.dispatch()
    keys = list(outbox_of(visits).values_list("idempotency_key", flat=True))
    assert (len(keys), first["created"] >= BATCH, second) == (BATCH, True, {"created": 0, "enqueued": 0})

    wait_until(lambda: smtp_inbox.received(keys).total() >= BATCH // 4, timeout=60,
               what="a quarter of the batch", log=worker.log)  # fmt: skip
    worker.kill()
    at_kill, in_flight = statuses(visits), set(keys_of(visits, OutboxMessage.Status.SENDING))
    assert 0 < at_kill[OutboxMessage.Status.SENT] < BATCH and len(in_flight) <= CONCURRENCY, at_kill

    worker.start()
    wait_until(lambda: settled(visits, worker), timeout=60, what="the rest of the batch", log=worker.log)
    # The sweep once the rows' enqueue lease is over: a row whose task the killed worker had taken
    # but not begun is handed over again; nothing sent or being sent goes again.
    reminders.dispatch(now=timezone.now() + reminders.ENQUEUE_LEASE)
    final = wait_until(lambda: settled(visits, worker), timeout=60, what="the last sweep", log=worker.log)

    received, sending = smtp_inbox.received(keys), keys_of(visits, OutboxMessage.Status.SENDING)
    sent = keys_of(visits, OutboxMessage.Status.SENT).values()
    assert max(received.values()) == 1, "a reminder was received twice"
    assert all(received[key] == 1 for key in sent), "a reminder shown as sent was not received"
    assert final[OutboxMessage.Status.SENT] + final[OutboxMessage.Status.SENDING] == BATCH, final
    assert set(sending) <= in_flight, "only rows in flight at the kill may be left sending"

    # The operator resends what is shown as sending and did not arrive (as the mail log tells).
    lost = [pk for pk, key in sending.items() if not received[key]]
    reminders.resend(message_ids=lost)  # autocommit: enqueued at once
    wait_until(lambda: set(lost) <= set(keys_of(visits, OutboxMessage.Status.SENT)), timeout=30,
               what="the resent reminders", log=worker.log)  # fmt: skip
    received = smtp_inbox.received(keys)
    assert (len(received), set(received.values())) == (BATCH, {1})


def test_with_redis_down_for_a_minute_pages_are_served_and_reminders_go_out_after(worker, smtp_inbox, client):
    visits = reminders_due_tomorrow(50)
    worker.start()
    wait_until(worker.is_ready, timeout=30, what="the worker", log=worker.log)
    worker.broker.stop()

    slowest_sweep = slowest_page = 0.0
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    while time.monotonic() < outage_ends:
        started = time.monotonic()
        assert reminders.dispatch()["enqueued"] == 0  # and nothing raised
        slowest_sweep = max(slowest_sweep, time.monotonic() - started)
        started = time.monotonic()
        login, health = client.get("/accounts/login/"), client.get("/healthz")
        slowest_page = max(slowest_page, time.monotonic() - started)
        checks = health.json()["checks"]
        assert (login.status_code, health.status_code, checks["database"]) == (200, 503, "ok")
        assert checks["broker"].startswith("error: OperationalError")
        time.sleep(5)
    assert (slowest_sweep < PROMPT_SECONDS, slowest_page < PROMPT_SECONDS) == (True, True)
    waiting = set(outbox_of(visits).values_list("pk", flat=True))
    assert len(waiting) == 50 and waiting <= set(reminders.sendable(now=timezone.now()))

    worker.broker.start()

    def swept_and_all_sent() -> bool:  # beat's sweep every few minutes, here every two seconds
        reminders.dispatch()
        return statuses(visits)[OutboxMessage.Status.SENT] == 50

    wait_until(swept_and_all_sent, timeout=75, every=2, what="the reminders after the outage", log=worker.log)
    received = smtp_inbox.received(list(outbox_of(visits).values_list("idempotency_key", flat=True)))
    assert (len(received), set(received.values())) == (50, {1})
