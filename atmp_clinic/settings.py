"""One settings module; everything that differs between machines comes from the environment.

DJANGO_ENV=development (default) runs with zero setup: SQLite and a filesystem broker under var/.
DJANGO_ENV=production refuses to start without SECRET_KEY, DATABASE_URL and CELERY_BROKER_URL,
and turns on every check of `manage.py check --deploy`.
"""

import secrets
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()


def env_bool(name: str, default: bool) -> bool:
    """Only true/false (or 1/0): a typo such as DEBUG=flase must not silently mean True."""
    raw = env.str(name, default=None)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"DJANGO_ENV must be development or production, not {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

# Local state of a development checkout: database, broker folders, cache, secret key.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))


def required_in_production(name: str) -> None:
    if PRODUCTION and not env.str(name, default=""):
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_ENV=production")


for _name in ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS"):
    required_in_production(_name)


def development_secret_key() -> str:
    """Generated once per checkout and kept under var/, so sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or development_secret_key()
# Earlier keys, still accepted for signatures and for decrypting patient data (see README: rotation).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
# Patient identity and contact fields are encrypted with keys derived from SECRET_KEY (and its
# fallbacks) and these salts; the first salt encrypts, every one decrypts.
SALT_KEY = env.list("FIELD_ENCRYPTION_SALTS", default=["atmp-clinic-patient-data-1"])
DEBUG = env_bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
# Names under which Prometheus reaches one web process directly (a pod's IP, compose's service name):
# it sends the address it scrapes as Host and cannot send the site's name instead.
ALLOWED_HOSTS += env.list("INTERNAL_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "django_prometheus",
    "atmp_clinic.accounts",
    "atmp_clinic.products",
    "atmp_clinic.patients",
    "atmp_clinic.audit",
    "atmp_clinic.exemptions",
    "atmp_clinic.manufacturing",
    "atmp_clinic.followup",
    "atmp_clinic.registry",
    "atmp_clinic.documents",
    "atmp_clinic.observability",
]

MIDDLEWARE = [
    # First: every log line of a request carries its id, and its duration covers all the rest.
    "atmp_clinic.observability.middleware.RequestLogMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "atmp_clinic.accounts.middleware.MembershipMiddleware",
    "atmp_clinic.accounts.middleware.UserLanguageMiddleware",
    "atmp_clinic.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Outside django-axes, so that a lockout is counted with the status it answers.
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "atmp_clinic.urls"
WSGI_APPLICATION = "atmp_clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                # LANGUAGES as settings write them, each named in itself, for the language switcher.
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------


def database_from_url(url: str) -> dict:
    scheme = urlsplit(url).scheme
    if scheme not in ("postgres", "postgresql", "pgsql", "sqlite"):
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {scheme!r} is not supported: use postgres://USER@HOST:PORT/NAME or sqlite:///PATH"
        )
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises several kinds for a malformed URL
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL ({exc})") from exc
    if config["ENGINE"].endswith("sqlite3"):
        # The worker and the web server write at the same time in `make run`.
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    else:
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
        options = config.setdefault("OPTIONS", {})
        options["connect_timeout"] = 5
        # No JIT: the permission filters' EXISTS … OR EXISTS subqueries make the planner's cost
        # estimates huge, so short queries were JIT-compiled, ~0.9 s each (bench/worklists.py: a
        # clinician's worklist 1 s with JIT, 0.25 s without). Options in the URL come after and win.
        options["options"] = f"-c jit=off {options.get('options', '')}".strip()
    return config


DATABASE_URL = env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {"default": database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (shared by web and workers: the worker heartbeat lives here) ----------------------

CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}

# --- Authentication and object permissions --------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# No anonymous user row: nothing in a clinical system is visible without logging in.
ANONYMOUS_USER_NAME = None
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Repeated failed logins for one username from one address lock that pair out; an administrator
# lifts it in the admin (Access attempts) or with `manage.py axes_reset_username USERNAME`.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0) or None

# Two-factor authentication (TOTP, with recovery codes): these roles, and Django staff, cannot use the
# platform until they have set up an authenticator app; everyone else may choose to.
SECOND_FACTOR_ROLES = ["pharmacist", "reviewer", "administrator"]
OTP_TOTP_ISSUER = "ATMP Clinic"
# Wrong codes are counted by accounts.services.second_factor_verify instead (5, then a 15-minute
# pause), on top of the login lockout: django-otp's own count is kept on the device row, which a
# refused signature's transaction rolls back.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

# Sessions end after 30 minutes without a request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- JSON API (/api/v1/) ---------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns a missing login into 401 rather than 403.
    # Tokens are django-rest-knox's: digests only, several per user, each expiring (api/authentication.py).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "atmp_clinic.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Per user a burst and a sustained rate, per address for anonymous callers; the history lives in
    # the default cache, which every web process shares. Over a limit: 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "atmp_clinic.api.throttling.BurstRateThrottle",
        "atmp_clinic.api.throttling.SustainedRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "burst": f"{env.int('API_RATE_PER_MINUTE', default=120)}/minute",
        "sustained": f"{env.int('API_RATE_PER_HOUR', default=1000)}/hour",
        "anon": f"{env.int('API_ANON_RATE_PER_MINUTE', default=30)}/minute",
    },
    # The proxies in front of us, as for django-axes: without it X-Forwarded-For would be believed
    # as sent, and an anonymous caller could name a new address for each request.
    "NUM_PROXIES": env.int("AXES_PROXY_COUNT", default=0),
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "atmp_clinic.api.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # No browsable API: its pages are a second UI with its own permission surface.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ATMP Clinic API",
    "VERSION": "v1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Several models have a "kind": each choice set gets its own name instead of a hashed one.
    "ENUM_NAME_OVERRIDES": {
        "ConsentKindEnum": "atmp_clinic.patients.models.ConsentKind",
        "RequestKindEnum": "atmp_clinic.exemptions.models.RequestKind",
        "AssessmentKindEnum": "atmp_clinic.exemptions.models.AssessmentKind",
        "VisitStatusEnum": "atmp_clinic.followup.models.FollowUpVisit.Status",
        "OutcomeEnum": "atmp_clinic.exemptions.models.Outcome",
        "AdverseEventKindEnum": "atmp_clinic.registry.models.AdverseEvent.Kind",
        "AdverseEventOutcomeEnum": "atmp_clinic.registry.models.AdverseEvent.Outcome",
    },
}

# --- Internationalisation -------------------------------------------------------------------

LANGUAGE_CODE = "en"
# The languages of the web UI and of what patients are sent (Patient identity's preferred language),
# each named in itself so that someone who reads only that language finds it in the switcher.
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("es", "Español"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Short dates in English as the pages have always written them ("5 Mar 2026"); see formats/en.
FORMAT_MODULE_PATH = ["atmp_clinic.formats"]
# The switcher's choice, kept like the session cookie: sent over HTTPS only in production, not to scripts.
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files: ours only, served by whitenoise; no CDN -----------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Development serves straight from the app folders; production from collectstatic's STATIC_ROOT.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Uploaded files: never served as public URLs, only through permission-checked views ----------

MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media-is-not-served/"
MAX_ATTACHMENT_MB = env.int("MAX_ATTACHMENT_MB", default=20)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Email ----------------------------------------------------------------------------------

# In development, emails are files under var/mail (one per message), not noise on the console.
_email = env.email_url("EMAIL_URL", default=f"filemail://{VAR_DIR / 'mail'}")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
# Links in emails point here.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ATMP Clinic <no-reply@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = 20

# --- Follow-up reminders (SPEC §5) ------------------------------------------------------------

# Days before a visit's due date at which its patient is reminded, by each consented channel.
REMINDER_DAYS_BEFORE = sorted(
    {int(days) for days in env.list("REMINDER_DAYS_BEFORE", default=["14", "2"])}, reverse=True
)
# Nothing reaches a patient between these hours of their own time zone.
REMINDER_QUIET_HOURS = (21, 8)
# "console" writes messages to the worker's log; "twilio" sends through Twilio's Messages API.
SMS_BACKEND = env.str("SMS_BACKEND", default="console")
if SMS_BACKEND not in ("console", "twilio"):
    raise ImproperlyConfigured(f"SMS_BACKEND must be console or twilio, not {SMS_BACKEND!r}")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_API_URL = env.str("TWILIO_API_URL", default="https://api.twilio.com")
if SMS_BACKEND == "twilio" and not (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER):
    raise ImproperlyConfigured(
        "SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER"
    )

# --- Celery ---------------------------------------------------------------------------------

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # kombu's filesystem transport: one folder serves as both inbox and outbox on one machine.
    BROKER_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Remote-control broadcasts; kombu's default is a "control" folder in the working directory.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.split("://", 1)[0] in ("redis", "rediss"):
    # A task not acknowledged within this time is delivered again (acks_late); far-future work
    # is kept in database rows, never as broker ETAs, so one hour is ample.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL scheme {urlsplit(CELERY_BROKER_URL).scheme!r} is not supported: "
        "use redis://HOST:PORT/DB, or leave it unset for the filesystem broker"
    )

CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_TASK_IGNORE_RESULT = True
# A page must never wait on a broker that is down: fail fast, the periodic sweeps catch up.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# One queue per kind of work, so that a long export or a year's annual reports never delay a
# patient's reminder; deploy/ runs a worker pool per queue. Declared here, a worker started
# without --queues (make run, tests, benchmarks) consumes every one of them.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = {
    name: {"exchange": name, "routing_key": name} for name in ("default", "reminders", "exports", "documents")
}
# Every task is named here (tests/deploy/test_task_routes.py insists), so a new one is placed on
# purpose, on a queue that every deployment has a worker for.
CELERY_TASK_ROUTES = {
    "atmp_clinic.celery.record_worker_heartbeat": {"queue": "default"},
    "exemptions.lapse_unanswered": {"queue": "default"},
    "exemptions.send_notification": {"queue": "default"},
    "exemptions.send_waiting_notifications": {"queue": "default"},
    "followup.miss_closed_windows": {"queue": "default"},
    "followup.dispatch_reminders": {"queue": "reminders"},
    "followup.send_message": {"queue": "reminders"},
    "followup.send_overdue_digests": {"queue": "reminders"},
    "registry.run_export": {"queue": "exports"},
    "registry.run_waiting_exports": {"queue": "exports"},
    "registry.refresh_registry_figures": {"queue": "exports"},
    "documents.issue_annual_reports": {"queue": "documents"},
    "documents.run_annual_report": {"queue": "documents"},
    "documents.run_waiting_annual_reports": {"queue": "documents"},
}

# --- Production hardening (manage.py check --deploy is clean) --------------------------------

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"
# Everything the browser loads is ours: no inline script or style, no other origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- Observability: logs, request ids, metrics (README: Logs and metrics) ----------------------

# json: one JSON object per line, for log collectors; plain: for a person reading `make run`.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}")
# Who may read /metrics: a bearer token and/or addresses (IPs or networks); neither set, nobody.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
for _network in METRICS_ALLOWED_IPS:
    try:
        ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_exc}") from _exc
# A Celery worker serves its task metrics on this port (0: none), on this address only.
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=0)
METRICS_WORKER_ADDRESS = env.str("METRICS_WORKER_ADDRESS", default="127.0.0.1")
# Query counts, latencies and errors per database: django-prometheus's wrappers of Django's backends.
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends."
)
if PRODUCTION:
    # Prometheus scrapes each web process directly over HTTP, as the health probes do.
    SECURE_REDIRECT_EXEMPT = [*SECURE_REDIRECT_EXEMPT, r"^metrics$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "atmp_clinic.observability.logs.RequestContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "atmp_clinic.observability.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_context"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
