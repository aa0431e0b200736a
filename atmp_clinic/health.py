"""/healthz: the database and the broker decide the status; the worker heartbeat is reported."""

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import WORKER_HEARTBEAT_EVERY, WORKER_HEARTBEAT_KEY, app


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "down"; its text says why
        return f"error: {exc.__class__.__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    return "ok"


def check_broker() -> str:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # kombu wraps transport errors differently per transport
        return f"error: {exc.__class__.__name__}: {exc}"
    return "ok"


def worker_status() -> dict:
    """When a worker last ran the heartbeat that beat schedules every minute."""
    try:
        raw = cache.get(WORKER_HEARTBEAT_KEY)
    except Exception as exc:  # a cache outage must not turn into a 500 here
        return {"status": f"unknown: cache error {exc.__class__.__name__}"}
    seen = parse_datetime(raw) if raw else None
    if seen is None:
        return {"status": "no heartbeat yet", "last_heartbeat": None}
    age = (timezone.now() - seen).total_seconds()
    return {
        "status": "ok" if age <= 3 * WORKER_HEARTBEAT_EVERY else "stale",
        "last_heartbeat": raw,
        "age_seconds": round(age),
    }


@never_cache
@require_GET
def healthz(request):
    checks = {"database": check_database(), "broker": check_broker()}
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "error", "checks": checks, "worker": worker_status()}
    return JsonResponse(body, status=200 if healthy else 503)
