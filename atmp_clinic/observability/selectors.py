"""Reads for the metrics page: what the reminder outbox still owes, in one indexed query."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q

from atmp_clinic.followup.models import OutboxMessage
from atmp_clinic.followup.reminders import ENQUEUE_LEASE


@dataclass(frozen=True)
class OutboxBacklog:
    due_by_kind: dict[str, int]  # every kind, 0 when none is waiting
    oldest_due_reminder_seconds: float  # 0 when no reminder waits past its send_after


def outbox_backlog(*, now: datetime) -> OutboxBacklog:
    """Pending messages that are due. A row handed to the broker has its send_after moved on by
    ENQUEUE_LEASE until it is sent, so "due" reaches that far ahead: otherwise a stopped worker's
    backlog would vanish from the count at each hand-over (the price: a row deferred by quiet hours
    or a backoff counts its last ten minutes early). The age is that of the oldest reminder whose
    send_after has passed and that no sweep has handed over since: it grows when the sweep stops."""
    kinds = OutboxMessage.Kind.values
    # The partial index outbox_pending_due (status = pending, on send_after) serves this one query.
    figures = OutboxMessage.objects.filter(
        status=OutboxMessage.Status.PENDING, send_after__lte=now + ENQUEUE_LEASE
    ).aggregate(
        **{kind: Count("pk", filter=Q(kind=kind)) for kind in kinds},
        oldest_reminder=Min(
            "send_after", filter=Q(kind=OutboxMessage.Kind.VISIT_REMINDER, send_after__lte=now)
        ),
    )
    oldest = figures["oldest_reminder"]
    return OutboxBacklog(
        due_by_kind={kind: figures[kind] for kind in kinds},
        oldest_due_reminder_seconds=(now - oldest).total_seconds() if oldest else 0.0,
    )
