"""API rate limits (issue 8): per user a burst and a sustained rate, per address for anonymous callers
and for wrong tokens; over a limit, 429 with Retry-After. Each test lowers the rate it tries: DRF
reads the rates from settings once, into `SimpleRateThrottle.THROTTLE_RATES` when its module is
imported, so overriding the setting would change nothing and that dictionary is what a test sets."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.api.conftest import client_for, session_for, token_for
from tests.conftest import run_manage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo")]

PATIENTS = "/api/v1/patients/"
SCHEMA = "/api/v1/schema/"


def statuses(client: APIClient, url: str, times: int, **extra) -> list[int]:
    return [client.get(url, **extra).status_code for _ in range(times)]


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_user_over_the_burst_rate_gets_429_with_retry_after(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "burst", "3/minute")
    client = client_for("pharmacist")
    assert statuses(client, PATIENTS, 3) == [200] * 3
    response = client.get(PATIENTS)
    assert response.status_code == 429 and 0 < int(response["Retry-After"]) <= 60


def test_the_burst_rate_counts_each_user_apart(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "burst", "2/minute")
    statuses(client_for("pharmacist"), PATIENTS, 3)
    assert client_for("clinician").get(PATIENTS).status_code == 200


def test_every_token_of_a_user_shares_their_limit(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "burst", "2/minute")
    statuses(client_for("pharmacist"), PATIENTS, 2)
    assert client_for("pharmacist").get(PATIENTS).status_code == 429


def test_a_user_over_the_sustained_rate_gets_429_for_up_to_an_hour(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "sustained", "2/hour")
    client = client_for("clinician")
    statuses(client, PATIENTS, 2)
    response = client.get(PATIENTS)
    assert response.status_code == 429 and 60 < int(response["Retry-After"]) <= 3600


def test_a_session_user_is_limited_too(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "burst", "2/minute")
    assert statuses(session_for("clinician"), PATIENTS, 3) == [200, 200, 429]


@pytest.mark.parametrize(
    "url", ["/api/v1/registry/export.csv?table=visits", "/api/v1/registry/export.ndjson"]
)
def test_the_streamed_registry_exports_are_limited(monkeypatch, url):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "burst", "2/minute")
    assert statuses(client_for("analyst"), url, 3) == [200, 200, 429]


def test_an_anonymous_caller_is_limited_by_address(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/minute")
    client = APIClient()
    assert statuses(client, SCHEMA, 3, REMOTE_ADDR="192.0.2.1") == [200, 200, 429]
    assert client.get(SCHEMA, REMOTE_ADDR="192.0.2.2").status_code == 200


def test_a_forwarded_for_header_does_not_make_a_new_anonymous_caller(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/minute")
    client = APIClient()
    forged = [
        client.get(SCHEMA, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(3)
    ]
    assert forged == [200, 200, 429]


def test_an_address_presenting_wrong_tokens_is_answered_429(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/minute")
    wrong = token_client("0" * 64)
    assert statuses(wrong, PATIENTS, 3, REMOTE_ADDR="192.0.2.1") == [401, 401, 429]
    # Even a right token is not looked at from there for a while; from elsewhere it works.
    right = token_client(token_for("pharmacist"))
    assert right.get(PATIENTS, REMOTE_ADDR="192.0.2.1").status_code == 429
    assert right.get(PATIENTS, REMOTE_ADDR="192.0.2.2").status_code == 200


def test_accepted_tokens_do_not_spend_the_anonymous_budget(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/minute")
    assert statuses(client_for("pharmacist"), PATIENTS, 4) == [200] * 4


def test_the_rates_are_read_from_the_environment():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(sorted(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'].items()))",
        env={"API_RATE_PER_MINUTE": "7", "API_RATE_PER_HOUR": "70", "API_ANON_RATE_PER_MINUTE": "3"},
    )
    assert "[('anon', '3/minute'), ('burst', '7/minute'), ('sustained', '70/hour')]" in result.stdout, (
        result.stderr
    )
