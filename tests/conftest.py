import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.throttling import SimpleRateThrottle

from atmp_clinic.accounts import services as account_services
from atmp_clinic.accounts.demo import DEMO_PASSWORD, seed_organisations_and_users, seed_second_factors
from atmp_clinic.accounts.models import User
from atmp_clinic.accounts.selectors import authenticator_of, second_factor_required
from atmp_clinic.celery import app as celery_app
from atmp_clinic.exemptions.demo import seed_requests
from atmp_clinic.manufacturing.demo import seed_chains
from atmp_clinic.patients.demo import seed_patients
from atmp_clinic.products.demo import seed_products
from atmp_clinic.registry import dashboards

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
def english_afterwards():
    """A request leaves its language active in the thread (LocaleMiddleware never resets it, as the
    next request activates its own); tests that follow call services and build documents in the
    default language."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Hashing strength is Django's concern, not this suite's; PBKDF2 would make each user ~0.3 s.
    settings.PASSWORD_HASHERS = FAST_HASHER


FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def throttle_history_per_test(monkeypatch):
    """Each test starts with no request counted against any API rate limit, and no wrong second-factor
    code counted against anyone: the shared cache would carry counts from one test (and one run) to the
    next."""
    monkeypatch.setattr(SimpleRateThrottle, "cache", LocMemCache(f"throttle-{uuid.uuid4()}", {}))
    monkeypatch.setattr(account_services, "cache", LocMemCache(f"codes-{uuid.uuid4()}", {}))


@pytest.fixture(autouse=True)
def dashboard_figures_per_test(monkeypatch):
    """Each test starts with no dashboard figures kept: the shared cache would show one test's
    figures (same scope, same day) in the next."""
    monkeypatch.setattr(dashboards, "cache", LocMemCache(f"dashboards-{uuid.uuid4()}", {}))


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
    # The worker tests send to real workers on purpose.
    if any(name == "worker" or name.endswith("_worker") for name in request.fixturenames):
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
    """The demo without its authenticators: a test gives one, through `log_in`, to the users it logs in,
    and a signature by a user who has one needs a code (`signature_of`)."""
    with override_settings(PASSWORD_HASHERS=FAST_HASHER, EMAIL_BACKEND=LOCMEM_EMAIL), tasks_in_process():
        seed_organisations_and_users()
        seed_products()
        seed_patients()
        seed_requests()
        seed_chains()


SEEDED: str | None = None  # the seeded demo, serialized once, to load after a test emptied the database


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The demo is seeded once into the test database; each test's transaction rolls back over it."""
    global SEEDED
    from django.db import connection

    with django_db_blocker.unblock():
        seed_demo_fast()
        SEEDED = connection.creation.serialize_db_to_string()


def load_seeded_demo() -> None:
    """The seeded demo again, after a transactional test (one that commits) emptied the database:
    half a second, where seeding takes half a minute. The flush's post_migrate made content types
    and permissions anew under other ids; the demo's own, which its rows refer to, replace them."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    Permission.objects.all().delete()
    ContentType.objects.all().delete()
    ContentType.objects.clear_cache()
    connection.creation.deserialize_db_from_string(SEEDED)
    ContentType.objects.clear_cache()


@pytest.fixture
def demo(db):
    """The organisations, users and catalogue of SPEC §7. Loaded again where a transactional test
    emptied the database before."""
    if not User.objects.filter(username="admin").exists():
        load_seeded_demo()


def log_in(client, user: User):
    """Logs a test client (Django's or DRF's) in as the user, as the login page and the second factor
    would: every test logs in through here. A user whose role needs a second factor and has none yet
    gets one, as they would on their first login."""
    client.force_login(user)
    device = authenticator_of(user=user)
    if device is None and second_factor_required(user=user):
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def demo_authenticators(demo):
    """The demo as `make run` seeds it: with the published authenticator for the roles that need one."""
    seed_second_factors()


def signature_of(user: User) -> dict:
    """An e-signature's fields as the user fills them in: the password again and, when they have a
    second factor, the code their authenticator app shows."""
    fields = {"password": DEMO_PASSWORD}
    if authenticator_of(user=user):
        fields["code"] = authenticator_code(user)
    return fields


def authenticator_code(user: User) -> str:
    """The code the user's authenticator app shows, as they would type it. A code is accepted once, so
    after one was used in the current 30 s, this is the next one (which the server accepts early)."""
    device = authenticator_of(user=user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if totp.t() <= device.last_t:
        totp.time = device.t0 + (device.last_t + 1 - device.drift) * device.step
    return f"{totp.token():0{device.digits}d}"


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


def database_url_of_the_test() -> str:
    """The test database, as a URL that another process (a worker, pg_dump) can use."""
    from django.db import connection

    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
