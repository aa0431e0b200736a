"""Settings come from the environment; a wrong value stops the start with one line naming it."""

import os

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import REQUIRE_SERVICES, run_manage

PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "a-production-secret-that-is-long-and-random-enough-0123456789-abcdef",
    "ALLOWED_HOSTS": "clinic.example",
    "DATABASE_URL": "postgres://clinic@127.0.0.1:5432/clinic",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def one_line_error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    return lines[0]


def test_wrong_database_url_is_one_clear_line():
    line = one_line_error(run_manage("check", env={"DATABASE_URL": "mysqll://x"}))
    assert "DATABASE_URL" in line and "not supported" in line


def test_malformed_database_url_is_one_clear_line():
    line = one_line_error(run_manage("check", env={"DATABASE_URL": "not a url"}))
    assert "DATABASE_URL" in line


def test_unsupported_broker_url_is_one_clear_line():
    line = one_line_error(run_manage("check", env={"CELERY_BROKER_URL": "sqs://queue"}))
    assert "CELERY_BROKER_URL" in line


def test_unreachable_database_is_one_clear_line_at_start():
    line = one_line_error(
        run_manage("check_services", env={"DATABASE_URL": "postgres://postgres@127.0.0.1:9/none"})
    )
    assert line.startswith(
        "CommandError: DATABASE_URL (postgres://postgres@127.0.0.1:9/none) does not answer"
    )


def test_unreachable_broker_is_one_clear_line_at_start():
    line = one_line_error(run_manage("check_services", env={"CELERY_BROKER_URL": "redis://127.0.0.1:9/0"}))
    assert "CELERY_BROKER_URL (redis://127.0.0.1:9/0) does not answer" in line


def test_a_typo_in_a_boolean_is_refused_not_read_as_true():
    line = one_line_error(run_manage("check", env={"DEBUG": "flase"}))
    assert "DEBUG must be true or false" in line


def test_production_requires_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    assert "SECRET_KEY must be set" in one_line_error(run_manage("check", env=env))


def test_production_passes_the_deploy_check():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_development_keeps_a_generated_secret_key_under_var():
    if os.environ.get("SECRET_KEY"):
        pytest.skip("SECRET_KEY comes from the environment here")
    assert (settings.VAR_DIR / "secret_key").read_text().strip() == settings.SECRET_KEY


@pytest.mark.skipif(not REQUIRE_SERVICES, reason="CI only: REQUIRE_SERVICES=1")
def test_ci_runs_against_postgresql_and_redis():
    # django-prometheus's wrapper of Django's PostgreSQL backend, which counts the queries.
    assert (settings.DATABASES["default"]["ENGINE"], settings.CELERY_BROKER_URL.split(":")[0]) == (
        "django_prometheus.db.backends.postgresql",
        "redis",
    )


@pytest.mark.django_db
def test_postgresql_connections_run_without_jit():
    # JIT compiled the worklists' short permission-filtered queries for ~0.9 s each (BENCHMARKS.md).
    if connection.vendor != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
