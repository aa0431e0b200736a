"""Who hears of each step on a request, and the outbox that tells them (SPEC §4: "notifies the
other side"). Emails carry the reference, the new state and a link: no clinical details, since
email is not a secure channel."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.audit.models import AuditEvent

from .models import ExemptionRequest, Notification

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def _members(organisation_id: int, role: str, **capability) -> set[User]:
    return set(
        User.objects.filter(
            is_active=True,
            memberships__organisation_id=organisation_id,
            memberships__role=role,
            memberships__ended_at__isnull=True,
            **{f"memberships__{name}": value for name, value in capability.items()},
        )
    )


def _pharmacists(request: ExemptionRequest) -> set[User]:
    return _members(request.hospital_id, Role.PHARMACIST)


def _physician(request: ExemptionRequest) -> set[User]:
    return {request.responsible_physician} if request.responsible_physician_id else set()


def _reviewers(request: ExemptionRequest, **capability) -> set[User]:
    return _members(request.authority_id, Role.REVIEWER, **capability)


def _asker(request: ExemptionRequest) -> set[User]:
    latest = request.information_requests.order_by("-asked_at").select_related("asked_by").first()
    return {latest.asked_by} if latest else set()


# The other side of each step; a step not listed here tells no one.
RECIPIENTS = {
    "co_signed": _pharmacists,
    "submitted": lambda r: _reviewers(r, is_validator=True),
    "resubmitted": lambda r: _reviewers(r, is_validator=True),
    "validated": lambda r: _pharmacists(r) | _reviewers(r, is_assessor=True),
    "returned": lambda r: _pharmacists(r) | _physician(r),
    "information_requested": _pharmacists,
    "information_answered": _asker,
    "ready_for_decision": lambda r: _reviewers(r, is_decider=True),
    "decided": lambda r: _pharmacists(r) | _physician(r),
    "withdrawn": lambda r: _reviewers(r) if r.submitted_at else set(),
    "lapsed": lambda r: _pharmacists(r) | _asker(r),
    "suspended": lambda r: _pharmacists(r) | _physician(r),
    "revoked": lambda r: _pharmacists(r) | _physician(r),
    # From the chain of identity: what the authority must hear of at once.
    "exceptional_release": _reviewers,
    "administered": lambda r: _reviewers(r) if r.authority.notify_each_administration else set(),
}


def notify(*, request: ExemptionRequest, event: AuditEvent) -> list[Notification]:
    """Write the outbox rows for a step, in its transaction; send them once it commits."""
    recipients = RECIPIENTS.get(event.action, lambda r: set())(request)
    link = settings.SITE_URL.rstrip("/") + reverse("request-detail", args=[request.pk])
    # Staff are written to in English, not in the language of the pages of whoever took the step.
    with translation.override(settings.LANGUAGE_CODE):
        state = request.get_state_display().lower()
    subject = f"{request.reference}: {state}"
    body = (
        f"Exemption request {request.reference} ({request.hospital.name} to {request.authority.name}) "
        f"is now: {state}.\n\n"
        f"Open it to read the details: {link}\n\n"
        "This message holds no clinical details; they are only in ATMP Clinic."
    )
    rows = [
        Notification.objects.create(
            request=request,
            event=event,
            recipient=user,
            subject=subject,
            body=body,
            idempotency_key=f"event-{event.pk}-user-{user.pk}",
        )
        for user in sorted(recipients, key=lambda u: u.pk)
        if user.email and user.pk != event.actor_id
    ]
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: enqueue(ids))
    return rows


def enqueue(ids: list[int]) -> None:
    from .tasks import send_notification  # tasks import this module

    for notification_id in ids:
        try:
            send_notification.delay(notification_id)
        except Exception:  # a broker outage must not fail the step; the sweep sends it later
            logger.warning("broker unavailable: notification %s waits for the sweep", notification_id)


def send(notification_id: int) -> bool:
    """Send one notification if it is still waiting; True when this call sent it."""
    claimed = Notification.objects.filter(pk=notification_id, status=Notification.Status.PENDING).update(
        status=Notification.Status.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return False  # sent already, or another worker has it
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    message = EmailMessage(
        subject=notification.subject,
        body=notification.body,
        to=[notification.recipient.email],
        headers={"Message-ID": f"<{notification.idempotency_key}@atmp-clinic>"},
    )
    try:
        message.send()
    except Exception as exc:
        gave_up = notification.attempts >= MAX_ATTEMPTS
        notification.status = Notification.Status.FAILED if gave_up else Notification.Status.PENDING
        notification.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
        notification.save(update_fields=["status", "last_error"])
        raise
    notification.status = Notification.Status.SENT
    notification.sent_at = timezone.now()
    notification.last_error = ""
    notification.save(update_fields=["status", "sent_at", "last_error"])
    return True


def waiting(*, older_than_seconds: int = 60) -> list[int]:
    """Notifications still waiting a while after their step: enqueued when the broker was down."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    return list(
        Notification.objects.filter(status=Notification.Status.PENDING, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:500]
    )


def resend(*, notification_ids: list[int]) -> int:
    """For operators: send again what failed or stuck in "sending" after a crash."""
    count = Notification.objects.filter(
        pk__in=notification_ids, status__in=(Notification.Status.FAILED, Notification.Status.SENDING)
    ).update(status=Notification.Status.PENDING, last_error="")
    transaction.on_commit(lambda: enqueue(list(notification_ids)))
    return count
