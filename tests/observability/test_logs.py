"""Every log line is one JSON object with the request id; the id comes from a sane X-Request-ID or
is made, is returned in X-Request-ID, and follows the request into the tasks it enqueues."""

import io
import json
import logging
import time

import pytest
from django.conf import settings
from django.core.cache import cache

from atmp_clinic.celery import worker_heartbeat_key
from atmp_clinic.observability.logs import JsonFormatter, RequestContextFilter
from tests.conftest import log_in
from tests.exemptions.conftest import user

pytestmark = pytest.mark.django_db
LINE_KEYS = {"timestamp", "level", "logger", "message", "request_id"}


@pytest.fixture
def json_log():
    """What the root logger prints while the test runs, formatted as LOG_FORMAT=json does."""
    assert settings.LOGGING["formatters"]["json"]["()"] == "atmp_clinic.observability.logs.JsonFormatter"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_it_logs_a_request_as_one_json_line_with_ids_only(client, json_log):
    clinician = user("clinician")
    log_in(client, clinician)
    client.get("/patients/?q=Noor", HTTP_X_REQUEST_ID="req-0123456789")
    (line,) = [record for record in records(json_log) if record["logger"] == "atmp_clinic.request"]
    assert {key: line[key] for key in ("method", "path", "status", "user_id", "request_id", "level")} == {
        "method": "GET",
        "path": "/patients/",
        "status": 200,
        "user_id": clinician.pk,
        "request_id": "req-0123456789",
        "level": "INFO",
    }


def test_it_writes_utc_timestamps_and_every_field_on_every_line(client, json_log):
    client.get("/no-such-page/")  # the access line and Django's "Not Found" warning
    lines = records(json_log)
    assert len(lines) >= 2
    assert all(line.keys() >= LINE_KEYS and line["timestamp"].endswith("+00:00") for line in lines)


def test_it_gives_django_error_lines_the_request_id(client, json_log):
    response = client.get("/no-such-page/")
    (warning,) = [record for record in records(json_log) if record["logger"] == "django.request"]
    assert warning["request_id"] == response["X-Request-ID"]


def test_it_leaves_names_emails_and_search_words_out(client, json_log):
    clinician = user("clinician")
    log_in(client, clinician)
    client.get("/patients/?q=Noor", HTTP_X_REQUEST_ID="req-0123456789")
    output = json_log.getvalue()
    assert clinician.username not in output and clinician.email not in output and "Noor" not in output


def test_it_returns_a_sane_incoming_request_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="3f0c2a9e-5a1b-4c55-9b1e-0d6f1c2b7a11")
    assert response["X-Request-ID"] == "3f0c2a9e-5a1b-4c55-9b1e-0d6f1c2b7a11"


@pytest.mark.parametrize("incoming", ["short", "x" * 200, "evil\nforged line", 'a" "b" "c12345678'])
def test_it_replaces_an_insane_request_id(client, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] != incoming and len(response["X-Request-ID"]) == 32


def test_it_makes_a_request_id_when_none_came(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert len(first["X-Request-ID"]) == 32 and first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.services
@pytest.mark.urls("tests.observability.urls")
def test_a_task_enqueued_by_a_request_logs_its_request_id_in_the_worker(client, worker):
    cache.delete(worker_heartbeat_key("default"))
    client.get(f"/enqueue-heartbeat?queue={worker.queue}", HTTP_X_REQUEST_ID="req-into-task-42")
    finished = worker.wait_for_log(
        lambda record: (
            record.get("task_name") == "atmp_clinic.celery.record_worker_heartbeat"
            and "succeeded" in record["message"]
        )
    )
    assert finished["request_id"] == "req-into-task-42"


@pytest.mark.services
@pytest.mark.urls("tests.observability.urls")
def test_every_line_a_worker_logs_is_one_json_object(client, worker):
    client.get(f"/enqueue-heartbeat?queue={worker.queue}")
    worker.wait_for_log(lambda record: "succeeded" in record["message"])
    time.sleep(0.5)  # the lines written after the task's
    lines = [json.loads(line) for line in worker.log_lines()]
    assert all(line.keys() >= LINE_KEYS for line in lines)
