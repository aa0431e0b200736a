import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from atmp_clinic.accounts.demo import seed_organisations_and_users
from atmp_clinic.accounts.models import User
from atmp_clinic.exemptions.demo import seed_requests
from atmp_clinic.patients.demo import seed_patients
from atmp_clinic.products.demo import seed_products

PROJECT_DIR = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def require_service(name: str, problem: str | None) -> None:
    """Skip a test whose service is missing, except under REQUIRE_SERVICES=1 (CI), where it fails."""
    if problem is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} is required (REQUIRE_SERVICES=1) but {problem}")
    pytest.skip(f"{name} unavailable: {problem}")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Hashing strength is Django's concern, not this suite's; PBKDF2 would make each user ~0.3 s.
    settings.PASSWORD_HASHERS = FAST_HASHER


FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed_demo_fast() -> None:
    with override_settings(PASSWORD_HASHERS=FAST_HASHER):
        seed_organisations_and_users()
        seed_products()
        seed_patients()
        seed_requests()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The demo is seeded once into the test database; each test's transaction rolls back over it."""
    with django_db_blocker.unblock():
        seed_demo_fast()


@pytest.fixture
def demo(db):
    """The organisations, users and catalogue of SPEC §7. Seeded again where a transactional
    test emptied the database before."""
    if not User.objects.filter(username="admin").exists():
        seed_demo_fast()


def run_manage(*args: str, env: dict | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    """manage.py in a fresh interpreter, so that settings are read from `env` anew."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
