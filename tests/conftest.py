import os
import subprocess
import sys
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path

import pytest
from django.test import override_settings

from atmp_clinic.accounts.demo import seed_organisations_and_users
from atmp_clinic.accounts.models import User
from atmp_clinic.celery import app as celery_app
from atmp_clinic.exemptions.demo import seed_requests
from atmp_clinic.manufacturing.demo import seed_chains
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
LOCMEM_EMAIL = "django.core.mail.backends.locmem.EmailBackend"


@contextmanager
def tasks_in_process():
    """Tasks the code under test enqueues run at once in this process, so nothing is left in a
    real broker for some other worker to pick up."""
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    if "worker" in request.fixturenames:  # the worker test sends to a real worker on purpose
        yield
        return
    with tasks_in_process():
        yield


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback; the messages it received, as email.message.Message."""
    import email
    import socket

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(email.message_from_bytes(envelope.original_content))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


def seed_demo_fast() -> None:
    with override_settings(PASSWORD_HASHERS=FAST_HASHER, EMAIL_BACKEND=LOCMEM_EMAIL), tasks_in_process():
        seed_organisations_and_users()
        seed_products()
        seed_patients()
        seed_requests()
        seed_chains()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The demo is seeded once into the test database; each test's transaction rolls back over it.
    A transactional test (one that commits) empties the database afterwards, so the seeded database
    is also kept serialized, for Django's serialized rollback to load it again before each of them:
    half a second instead of half a minute of seeding."""
    from django.db import connection

    with django_db_blocker.unblock():
        seed_demo_fast()
        # On the class, not on this connection: connections are context-local (asgiref), and a test
        # after a browser test (Playwright runs an event loop here) is given a connection of its own.
        type(connection)._test_serialized_contents = connection.creation.serialize_db_to_string()


def pytest_collection_modifyitems(items):
    for item in items:
        marker = item.get_closest_marker("django_db")
        committing = marker is not None and marker.kwargs.get("transaction")
        if committing or {"transactional_db", "live_server"} & set(item.fixturenames):
            item.fixturenames.append("django_db_serialized_rollback")


def restore_reference_data() -> None:
    """An emptied database has lost what data migrations wrote; put it back as they do."""
    from django.apps import apps

    import_module("atmp_clinic.followup.migrations.0002_spec_default_templates").create_templates(apps, None)


@pytest.fixture
def demo(db):
    """The organisations, users and catalogue of SPEC §7. Seeded again if a test emptied the
    database before without loading it back."""
    if not User.objects.filter(username="admin").exists():
        restore_reference_data()
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
