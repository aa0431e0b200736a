import os
import subprocess
import sys
from pathlib import Path

import pytest

from atmp_clinic.accounts.demo import seed_organisations_and_users

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
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo(db):
    """The organisations and users of SPEC §7."""
    seed_organisations_and_users()


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
