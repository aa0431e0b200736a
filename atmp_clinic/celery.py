"""The Celery app: configured from Django settings (CELERY_*), tasks found in each app's tasks.py."""

import logging
import os
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atmp_clinic.settings")

WORKER_HEARTBEAT_EVERY = 60  # seconds

logger = logging.getLogger(__name__)


def worker_heartbeat_key(queue: str) -> str:
    """The cache key of the last heartbeat that a worker of `queue`'s pool ran."""
    return f"health:worker-heartbeat:{queue}"


class ClinicTask(Task):
    """Defaults for every task: a task that lists `autoretry_for` retries with jittered
    exponential backoff (2 s, 4 s, … capped at 10 minutes) and gives up after 8 tries."""

    acks_late = True
    retry_backoff = 2
    retry_backoff_max = 600
    retry_jitter = True
    max_retries = 8


def delay_or_leave_for_sweep(task: Task, job_id: int) -> None:
    """Hand a job kept in the database to a worker. A broker outage must not fail the request that
    asked for it: the job stays queued, and its sweep hands it over later."""
    try:
        task.delay(job_id)
    except Exception:
        logger.warning("broker unavailable: %s %s waits for the sweep", task.name, job_id)


app = Celery("atmp_clinic", task_cls=ClinicTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "send-waiting-notifications": {
        "task": "exemptions.send_waiting_notifications",
        "schedule": 300,
        "options": {"expires": 300},
    },
    "dispatch-reminders": {
        "task": "followup.dispatch_reminders",
        "schedule": 300,
        "options": {"expires": 300},
    },
    "miss-closed-windows": {
        "task": "followup.miss_closed_windows",
        "schedule": crontab(hour=0, minute=30),
        "options": {"expires": 3600},
    },
    "send-overdue-digests": {
        # After the night's misses are recorded, before the clinic day in Europe.
        "task": "followup.send_overdue_digests",
        "schedule": crontab(hour=5, minute=0),
        "options": {"expires": 3600},
    },
    "run-waiting-exports": {
        "task": "registry.run_waiting_exports",
        "schedule": 300,
        "options": {"expires": 300},
    },
    "run-waiting-annual-reports": {
        "task": "documents.run_waiting_annual_reports",
        "schedule": 300,
        "options": {"expires": 300},
    },
    "refresh-registry-figures": {
        # Well within dashboards.FIGURES_KEPT_FOR, so the analyst's figures are always kept.
        "task": "registry.refresh_registry_figures",
        "schedule": 300,
        "options": {"expires": 300},
    },
    "lapse-unanswered-requests": {
        "task": "exemptions.lapse_unanswered",
        "schedule": crontab(hour=0, minute=15),
        "options": {"expires": 3600},
    },
    "issue-annual-reports": {
        # The previous year's reports, once its last late records (e.g. December's visits) are in.
        "task": "documents.issue_annual_reports",
        "schedule": crontab(month_of_year=1, day_of_month=31, hour=2, minute=0),
        "options": {"expires": 6 * 3600},
    },
}


@app.on_after_configure.connect
def schedule_worker_heartbeats(sender: Celery, **_: Any) -> None:
    """A heartbeat a minute into every queue (CELERY_TASK_QUEUES), so that /healthz shows when each
    pool last ran one: a stopped reminders pool is otherwise invisible until patients miss reminders.
    Added once the settings are read, as the queues are named there."""
    for queue in sender.conf.task_queues:
        sender.conf.beat_schedule[f"record-worker-heartbeat-{queue}"] = {
            "task": "atmp_clinic.celery.record_worker_heartbeat",
            "schedule": WORKER_HEARTBEAT_EVERY,
            "args": (queue,),
            # A beat that ran while the workers were down must not release a backlog of heartbeats.
            "options": {"queue": queue, "expires": WORKER_HEARTBEAT_EVERY},
        }


@app.task(name="atmp_clinic.celery.record_worker_heartbeat")
def record_worker_heartbeat(queue: str = "default") -> str:
    """Run by a worker of `queue`'s pool (beat sends it there), so /healthz can tell when each pool
    and beat last ran. The default: messages of a beat from before per-queue heartbeats."""
    from django.core.cache import cache
    from django.utils import timezone

    now = timezone.now().isoformat()
    cache.set(worker_heartbeat_key(queue), now, timeout=None)
    return now
