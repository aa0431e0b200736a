"""/healthz: the database and the broker decide the status; each queue's worker heartbeat is reported.

A worker pool that stopped does not fail /healthz: it is the web's readiness and liveness probe, and
taking web pods out of the Service or restarting them would neither run a task nor bring a worker
back, only add an outage of the site to an outage of one kind of work. `queues` (and the metric
atmp_worker_heartbeat_age_seconds) make the dead pool visible; alert on them."""

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import WORKER_HEARTBEAT_EVERY, app, worker_heartbeat_key

# A pool is stale after missing three heartbeats: one late or expired message is not an outage.
STALE_AFTER = 3 * WORKER_HEARTBEAT_EVERY


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


def last_heartbeats() -> dict[str, datetime | None]:
    """When a worker of each queue's pool last ran the heartbeat beat sends it, in one cache read."""
    keys = {queue: worker_heartbeat_key(queue) for queue in settings.CELERY_TASK_QUEUES}
    found = cache.get_many(keys.values())
    return {queue: parse_datetime(found[key]) if key in found else None for queue, key in keys.items()}


def heartbeat_status(seen: datetime | None, *, now: datetime) -> dict:
    if seen is None:
        return {"status": "no heartbeat yet", "last_heartbeat": None}
    age = (now - seen).total_seconds()
    return {
        "status": "ok" if age <= STALE_AFTER else "stale",
        "last_heartbeat": seen.isoformat(),
        "age_seconds": round(age),
    }


def queue_statuses() -> dict[str, dict]:
    try:
        heartbeats = last_heartbeats()
    except Exception as exc:  # a cache outage must not turn into a 500 here
        return {
            queue: {"status": f"unknown: cache error {exc.__class__.__name__}"}
            for queue in settings.CELERY_TASK_QUEUES
        }
    now = timezone.now()
    return {queue: heartbeat_status(seen, now=now) for queue, seen in heartbeats.items()}


@never_cache
@require_GET
def healthz(request):
    checks = {"database": check_database(), "broker": check_broker()}
    healthy = all(value == "ok" for value in checks.values())
    queues = queue_statuses()
    body = {
        "status": "ok" if healthy else "error",
        "checks": checks,
        # The default queue's pool, as /healthz reported it before there was one pool per queue.
        "worker": queues[settings.CELERY_TASK_DEFAULT_QUEUE],
        "queues": queues,
    }
    return JsonResponse(body, status=200 if healthy else 503)
