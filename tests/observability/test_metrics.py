"""/metrics: for Prometheus only (token and/or address), with request counters, the outbox backlog
as it is when scraped, and the task counts a real prefork worker serves."""

import math
import os
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from atmp_clinic.celery import worker_heartbeat_key
from atmp_clinic.followup.models import Channel, FollowUpVisit, OutboxMessage
from tests.conftest import PROJECT_DIR, log_in
from tests.exemptions.conftest import user
from tests.observability.conftest import free_port

pytestmark = pytest.mark.django_db
TOKEN = "a-scrape-token-0123456789"
BEARER = f"Bearer {TOKEN}"


@pytest.fixture
def scraper(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) → value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=BEARER)
    assert response.status_code == 200
    return samples(response.content.decode())


def test_it_refuses_everyone_when_neither_token_nor_addresses_are_set(client):
    assert client.get("/metrics", HTTP_AUTHORIZATION=BEARER).status_code == 404


def test_it_refuses_a_caller_without_the_token(client, scraper):
    assert client.get("/metrics").status_code == 404


def test_it_refuses_a_wrong_token(client, scraper):
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token").status_code == 404


def test_it_refuses_a_logged_in_administrator_without_the_token(client, scraper):
    log_in(client, user("admin"))
    assert client.get("/metrics").status_code == 404


def test_it_refuses_an_address_outside_the_allowed_networks(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["10.1.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.5").status_code == 404


def test_it_refuses_an_allowed_address_relayed_by_a_proxy(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["10.1.0.0/16"]
    response = client.get("/metrics", REMOTE_ADDR="10.1.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 404


def test_it_needs_both_the_token_and_the_address_when_both_are_set(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = TOKEN, ["10.1.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.5", HTTP_AUTHORIZATION=BEARER).status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="10.1.0.5", HTTP_AUTHORIZATION=BEARER).status_code == 200


def test_it_lets_an_allowed_address_in(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["10.1.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.0.5").status_code == 200


def test_it_counts_requests_by_view_method_and_status(client, scraper):
    counter = (
        "django_http_responses_total_by_status_view_method_total",
        (("method", "GET"), ("status", "200"), ("view", "healthz")),
    )
    before = scrape(client).get(counter, 0)
    client.get("/healthz")
    client.get("/healthz")
    assert scrape(client)[counter] == before + 2


def test_it_counts_database_queries(client, scraper):
    assert any(name == "django_db_execute_total" and value > 0 for (name, _), value in scrape(client).items())


def _reminder(visit: FollowUpVisit, *, days_before: int, send_after, status=OutboxMessage.Status.PENDING):
    return OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.VISIT_REMINDER, channel=Channel.EMAIL, visit=visit,
        visit_due_on=visit.due_on, days_before=days_before, hospital_id=visit.plan.patient.hospital_id,
        idempotency_key=f"test-reminder-{visit.pk}-{days_before}", send_after=send_after, status=status,
    )  # fmt: skip


def _digest(*, send_after, status=OutboxMessage.Status.PENDING):
    clinician = user("clinician")
    return OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.OVERDUE_DIGEST, channel=Channel.EMAIL, recipient=clinician,
        hospital=clinician.memberships.get().organisation, idempotency_key=f"test-digest-{send_after}",
        send_after=send_after, status=status,
    )  # fmt: skip


def test_it_reports_the_outbox_backlog_and_the_oldest_due_reminder(client, scraper):
    now = timezone.now().replace(microsecond=0)
    OutboxMessage.objects.all().delete()  # rolled back with the test: only this test's rows count
    visit = FollowUpVisit.objects.filter(status=FollowUpVisit.Status.SCHEDULED).order_by("pk").first()
    _reminder(visit, days_before=91, send_after=now - timedelta(minutes=15))  # due a quarter-hour ago
    _reminder(visit, days_before=92, send_after=now - timedelta(minutes=1))
    _reminder(visit, days_before=93, send_after=now + timedelta(minutes=5))  # handed to the broker
    _reminder(visit, days_before=94, send_after=now + timedelta(hours=9))  # held over quiet hours
    _reminder(visit, days_before=95, send_after=now - timedelta(hours=2), status=OutboxMessage.Status.SENT)
    _digest(send_after=now - timedelta(hours=1))
    _digest(send_after=now - timedelta(hours=3), status=OutboxMessage.Status.CANCELLED)
    with time_machine.travel(now, tick=False):
        figures = scrape(client)
    assert (
        figures[("atmp_outbox_due_messages", (("kind", "visit_reminder"),))],
        figures[("atmp_outbox_due_messages", (("kind", "overdue_digest"),))],
        figures[("atmp_outbox_oldest_due_reminder_age_seconds", ())],
    ) == (3, 1, 15 * 60)


def test_it_reports_an_empty_outbox_as_zeros(client, scraper):
    OutboxMessage.objects.all().delete()
    figures = scrape(client)
    assert (
        figures[("atmp_outbox_due_messages", (("kind", "visit_reminder"),))],
        figures[("atmp_outbox_oldest_due_reminder_age_seconds", ())],
    ) == (0, 0)


def test_it_reports_how_long_ago_each_queues_pool_ran_its_heartbeat(client, scraper):
    cache.delete_many([worker_heartbeat_key(queue) for queue in settings.CELERY_TASK_QUEUES])
    now = timezone.now()
    cache.set(worker_heartbeat_key("reminders"), (now - timedelta(minutes=4)).isoformat())
    with time_machine.travel(now, tick=False):
        figures = scrape(client)
    assert (
        figures[("atmp_worker_heartbeat_age_seconds", (("queue", "reminders"),))],
        figures[("atmp_worker_heartbeat_age_seconds", (("queue", "exports"),))],
    ) == (240, math.inf)


def test_a_scrape_costs_one_query_whatever_the_outbox_holds(client, scraper, django_assert_num_queries):
    with django_assert_num_queries(1):
        client.get("/metrics", HTTP_AUTHORIZATION=BEARER)


@pytest.mark.services
def test_a_prefork_worker_serves_its_task_counts_and_durations(worker):
    from atmp_clinic.celery import record_worker_heartbeat

    for _ in range(2):
        record_worker_heartbeat.apply_async(queue=worker.queue)
    labels = (("outcome", "success"), ("task", "atmp_clinic.celery.record_worker_heartbeat"))
    deadline, figures = time.time() + 60, {}
    while time.time() < deadline and figures.get(("atmp_celery_tasks_total", labels)) != 2:
        time.sleep(0.3)
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=5
            ) as answer:
                figures = samples(answer.read().decode())
        except OSError:
            continue  # the exporter starts with the worker
    assert (
        figures.get(("atmp_celery_tasks_total", labels)),
        figures.get(("atmp_celery_task_duration_seconds_count", labels)),
    ) == (2, 2)


@pytest.mark.services
def test_a_worker_empties_its_metrics_directory_as_it_starts(worker):
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=5).close()
            break
        except OSError:
            time.sleep(0.3)  # the exporter starts with the worker
    assert not (worker.metrics_dir / "counter_1.db").exists()


@pytest.mark.services
def test_gunicorn_workers_counts_are_summed_in_multiprocess_mode(tmp_path, settings):
    """Several gunicorn workers, as deploy/ runs them, each counting in files of its own: one scrape
    answers the sum, whichever worker it reaches."""
    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("postgresql"):
        pytest.skip("the web processes need the test database on a server")
    login = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    port, metrics_dir = free_port(), tmp_path / "web-metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{login}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": TOKEN,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "atmp_clinic.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        for _ in range(9):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5).close()
        scrape_request = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": BEARER}
        )
        with urllib.request.urlopen(scrape_request, timeout=5) as answer:  # noqa: S310 (an http:// URL, above)
            figures = samples(answer.read().decode())
    finally:
        server.terminate()
        server.wait(timeout=20)
    labels = (("method", "GET"), ("status", "200"), ("view", "login"))
    assert figures[("django_http_responses_total_by_status_view_method_total", labels)] == 10
