import logging

from django.utils import timezone

from atmp_clinic.celery import app

from . import reminders, services

logger = logging.getLogger(__name__)


@app.task(name="followup.dispatch_reminders")
def dispatch_reminders() -> dict[str, int]:
    """Every few minutes (beat): reminder points reached, and whatever waits to be sent."""
    counts = reminders.dispatch()
    logger.info("reminders: %(created)d written, %(enqueued)d handed to workers", counts)
    return counts


@app.task(name="followup.send_message")
def send_message(message_id: int) -> bool:
    # No Celery retries: a failure is written to the row, and the sweep sends it again after its backoff.
    return reminders.send(message_id)


@app.task(name="followup.send_overdue_digests")
def send_overdue_digests() -> int:
    """Daily: each clinician hears of their hospital's overdue visits."""
    now = timezone.now()
    created = reminders.create_overdue_digests(now=now)
    reminders.enqueue(reminders.sendable(now=now), now=now)
    return created


@app.task(name="followup.miss_closed_windows")
def miss_closed_windows() -> int:
    """Daily: visits whose window closed without a visit become missed."""
    return services.visits_miss_closed_windows(today=timezone.localdate())
