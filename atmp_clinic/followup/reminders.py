"""Reminders to patients and digests to clinicians, through the outbox (SPEC §5, ARCHITECTURE
"delivery guarantee").

Beat runs `dispatch` every few minutes: it writes one outbox row per visit, reminder point and
consented channel as each point is reached (the row's unique key makes a second beat, a re-run or a
redelivered task a no-op), then enqueues one send task per row that may go now. `send` claims its
row (pending → sending) before anything leaves, so a crash mid-send leaves the row visible as
"sending" for an operator's resend and never sends it twice. Failures wait in the database with
exponential backoff, not as broker ETAs."""

import logging
import zoneinfo
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.urls import reverse
from django.utils import timezone

from atmp_clinic.accounts.models import Membership, Organisation, Role
from atmp_clinic.patients.models import Consent, ConsentKind

from . import reminder_texts
from .calendar import visits_calendar
from .models import Channel, FollowUpPlan, FollowUpVisit, OutboxMessage
from .sms import get_backend

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A row handed to the broker is not handed again before this, unless its task ran and failed:
# a backlog while the broker is down is enqueued once when it returns, not once per sweep.
ENQUEUE_LEASE = timedelta(minutes=10)
CONSENT_FOR = {Channel.EMAIL: ConsentKind.REMINDER_EMAIL, Channel.SMS: ConsentKind.REMINDER_SMS}


def backoff(attempts: int) -> timedelta:
    """2, 4, 8 … minutes after each failed attempt, at most six hours."""
    return min(timedelta(minutes=2**attempts), timedelta(hours=6))


def in_quiet_hours(moment: datetime, tz: zoneinfo.ZoneInfo) -> bool:
    start, end = settings.REMINDER_QUIET_HOURS
    hour = moment.astimezone(tz).hour
    return hour >= start or hour < end


def next_allowed(moment: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """`moment`, or the end of the quiet hours it falls in, in the patient's own time zone (across
    a daylight-saving change the end is still 08:00 on the patient's clock)."""
    if not in_quiet_hours(moment, tz):
        return moment
    local = moment.astimezone(tz)
    end_hour = settings.REMINDER_QUIET_HOURS[1]
    day = local.date() if local.hour < end_hour else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end_hour), tzinfo=tz).astimezone(zoneinfo.ZoneInfo("UTC"))


def reminder_windows(today: date) -> list[tuple[int, date, date]]:
    """(days before, first due date, last due date) for each reminder point. A point reached late
    still reminds, until the next point takes over: a visit planned 5 days ahead is reminded at once
    (the 14-day point; the text says "in 5 days") and again 2 days before, a visit planned for
    tomorrow once, and a day without a worker is caught up."""
    points = settings.REMINDER_DAYS_BEFORE  # descending
    windows = []
    for index, days in enumerate(points):
        nearer = points[index + 1] if index + 1 < len(points) else -1
        windows.append((days, today + timedelta(days=nearer + 1), today + timedelta(days=days)))
    return windows


def create_due_reminders(*, now: datetime) -> int:
    """Outbox rows for every reminder point reached and not yet written, in a few indexed queries
    per point and channel and one bulk insert; returns how many rows were written."""
    today = now.date()
    rows = []
    for days, first, last in reminder_windows(today):
        for channel, consent_kind in CONSENT_FOR.items():
            visits = (
                FollowUpVisit.objects.filter(
                    status=FollowUpVisit.Status.SCHEDULED,
                    due_on__gte=first,
                    due_on__lte=last,
                    plan__status=FollowUpPlan.Status.ACTIVE,
                )
                .filter(
                    Exists(
                        Consent.objects.filter(
                            patient=OuterRef("plan__patient"), kind=consent_kind, withdrawn_on__isnull=True
                        )
                    )
                )
                .exclude(
                    Exists(
                        OutboxMessage.objects.filter(
                            visit=OuterRef("pk"), visit_due_on=OuterRef("due_on"), days_before=days, channel=channel
                        )
                    )
                )
                .select_related("plan__patient__identity")
                .order_by()  # rows are written in bulk: no order needed, and the default sorts by plan
                # Each encrypted field costs a decryption; a reminder row needs only these three.
                .only("pk", "due_on", "plan__patient__hospital_id", "plan__patient__identity__email",
                      "plan__patient__identity__phone", "plan__patient__identity__time_zone")
            )  # fmt: skip
            for visit in visits:
                rows.append(_reminder_row(visit, days=days, channel=channel, now=now))
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)


def _reminder_row(visit: FollowUpVisit, *, days: int, channel: str, now: datetime) -> OutboxMessage:
    patient = visit.plan.patient
    identity = getattr(patient, "identity", None)
    address = identity and (identity.email if channel == Channel.EMAIL else identity.phone)
    row = OutboxMessage(
        kind=OutboxMessage.Kind.VISIT_REMINDER,
        channel=channel,
        visit=visit,
        visit_due_on=visit.due_on,
        days_before=days,
        hospital_id=patient.hospital_id,
        idempotency_key=f"reminder-visit-{visit.pk}-{visit.due_on:%Y%m%d}-{days}d-{channel}",
        send_after=next_allowed(now, zoneinfo.ZoneInfo(identity.time_zone)) if identity else now,
    )
    if not address:  # consented but no address: visible to the hospital, not retried every sweep
        row.status = OutboxMessage.Status.CANCELLED
        row.last_error = f"No {'email address' if channel == Channel.EMAIL else 'mobile number'} on record."
    return row


def create_overdue_digests(*, now: datetime) -> int:
    """One digest per clinician of each hospital with overdue visits, once a day."""
    today = now.date()
    overdue = (
        FollowUpVisit.objects.filter(
            status=FollowUpVisit.Status.SCHEDULED, due_on__lt=today, plan__status=FollowUpPlan.Status.ACTIVE
        )
        .select_related("plan__patient")
        .order_by("due_on")
    )
    by_hospital: dict[int, list[FollowUpVisit]] = {}
    for visit in overdue:
        by_hospital.setdefault(visit.plan.patient.hospital_id, []).append(visit)
    link = settings.SITE_URL.rstrip("/") + reverse("home")
    rows = []
    hospitals = Organisation.objects.in_bulk(by_hospital)
    clinicians = Membership.objects.filter(
        organisation__in=by_hospital, role=Role.CLINICIAN, ended_at__isnull=True, user__is_active=True
    ).select_related("user")
    for membership in clinicians:
        if not membership.user.email:
            continue
        hospital = hospitals[membership.organisation_id]
        subject, body = reminder_texts.overdue_digest(
            hospital=hospital, visits=by_hospital[hospital.pk], link=link
        )
        rows.append(
            OutboxMessage(
                kind=OutboxMessage.Kind.OVERDUE_DIGEST,
                channel=Channel.EMAIL,
                hospital=hospital,
                recipient=membership.user,
                idempotency_key=f"digest-{hospital.pk}-{today:%Y%m%d}-user-{membership.user_id}",
                send_after=now,
                subject=subject,
                body=body,
            )
        )
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def sendable(*, now: datetime, limit: int = 5000) -> list[int]:
    return list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, send_after__lte=now)
        .order_by("send_after")
        .values_list("pk", flat=True)[:limit]
    )


def enqueue(ids: list[int], *, now: datetime | None = None) -> int:
    """Hand rows to the broker; returns how many it took. A broker outage loses nothing: the rows
    stay pending and a later sweep hands them over."""
    from .tasks import send_message  # tasks import this module

    if not ids:
        return 0
    now = now or timezone.now()
    OutboxMessage.objects.filter(pk__in=ids, status=OutboxMessage.Status.PENDING).update(
        send_after=now + ENQUEUE_LEASE
    )
    handed = 0
    try:
        # One producer for the batch: a connection per task would cost more than the task.
        with send_message.app.producer_or_acquire() as producer:
            for message_id in ids:
                send_message.apply_async((message_id,), producer=producer)
                handed += 1
    except Exception:
        logger.warning("broker unavailable: %d outbox messages wait for the next sweep", len(ids) - handed)
        OutboxMessage.objects.filter(pk__in=ids[handed:], status=OutboxMessage.Status.PENDING).update(
            send_after=now
        )
    return handed


def dispatch(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    created = create_due_reminders(now=now)
    enqueued = enqueue(sendable(now=now), now=now)
    return {"created": created, "enqueued": enqueued}


def _still_wanted(message: OutboxMessage, *, today: date) -> str:
    """Why a reminder written earlier must not go now, or "" when it should. `today` is the
    patient's own date."""
    visit = message.visit
    if visit.status != FollowUpVisit.Status.SCHEDULED or visit.plan.status != FollowUpPlan.Status.ACTIVE:
        return f"The visit is {visit.get_status_display().lower()}."
    if visit.due_on != message.visit_due_on:
        return "The visit was rescheduled; the new date has reminders of its own."
    if visit.due_on < today:
        return "The visit's date has passed."
    consented = Consent.objects.filter(
        patient_id=visit.plan.patient_id, kind=CONSENT_FOR[message.channel], withdrawn_on__isnull=True
    ).exists()
    return "" if consented else "The patient withdrew consent to reminders by this channel."


def send(message_id: int, *, now: datetime | None = None) -> bool:
    """Send one outbox row if it is still waiting; True when this call sent it."""
    now = now or timezone.now()
    claimed = OutboxMessage.objects.filter(pk=message_id, status=OutboxMessage.Status.PENDING).update(
        status=OutboxMessage.Status.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return False  # sent already, cancelled, or another worker has it
    message = OutboxMessage.objects.select_related(
        "visit__plan__patient__identity", "visit__plan__patient__hospital", "recipient"
    ).get(pk=message_id)
    try:
        if message.kind == OutboxMessage.Kind.VISIT_REMINDER:
            identity = message.visit.plan.patient.identity
            tz = zoneinfo.ZoneInfo(identity.time_zone)
            if why_not := _still_wanted(message, today=timezone.localdate(now, timezone=tz)):
                _finish(message, status=OutboxMessage.Status.CANCELLED, last_error=why_not)
                return False
            if in_quiet_hours(now, tz):  # enqueued before the quiet hours, run during them
                message.attempts -= 1
                _finish(message, status=OutboxMessage.Status.PENDING, send_after=next_allowed(now, tz))
                return False
            _send_reminder(message, identity=identity)
        else:
            _send_email(message, to=message.recipient.email)
    except Exception as exc:
        gave_up = message.attempts >= MAX_ATTEMPTS
        logger.warning("outbox message %s failed (attempt %d): %s", message.pk, message.attempts, exc)
        _finish(
            message,
            status=OutboxMessage.Status.FAILED if gave_up else OutboxMessage.Status.PENDING,
            send_after=now + backoff(message.attempts),
            last_error=f"{exc.__class__.__name__}: {exc}"[:2000],
        )
        return False
    _finish(message, status=OutboxMessage.Status.SENT, sent_at=timezone.now(), last_error="")
    return True


def _send_reminder(message: OutboxMessage, *, identity) -> None:
    visit, language = message.visit, identity.preferred_language
    # How far off the visit is on the patient's calendar as it goes out (a 2-day reminder held over
    # the quiet hours, or caught up late, is no longer "in 2 days").
    days = (visit.due_on - timezone.localdate(timezone=zoneinfo.ZoneInfo(identity.time_zone))).days
    # The words are written to the row before they leave, so the record shows what was sent.
    if message.channel == Channel.EMAIL:
        message.subject, message.body = reminder_texts.reminder_email(
            visit, days_before=days, language=language
        )
    else:
        message.subject, message.body = (
            "",
            reminder_texts.reminder_sms(visit, days_before=days, language=language),
        )
    message.save(update_fields=["subject", "body"])
    if message.channel == Channel.EMAIL:
        _send_email(
            message,
            to=identity.email,
            attachment=("follow-up-visit.ics", visits_calendar([visit], language=language), "text/calendar"),
        )
    else:
        get_backend().send(to=identity.phone, body=message.body, reference=message.idempotency_key)


def _send_email(message: OutboxMessage, *, to: str, attachment: tuple | None = None) -> None:
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        to=[to],
        headers={"Message-ID": f"<{message.idempotency_key}@atmp-clinic>"},
    )
    if attachment:
        email.attach(*attachment)
    email.send()


def _finish(message: OutboxMessage, **fields) -> None:
    for name, value in fields.items():
        setattr(message, name, value)
    message.save(update_fields=[*fields, "attempts"])


def resend(*, message_ids: list[int]) -> int:
    """For operators: send again what failed, or what a crash left in "sending" (which may or may
    not have reached its recipient: the operator decides)."""
    count = OutboxMessage.objects.filter(
        pk__in=message_ids, status__in=(OutboxMessage.Status.FAILED, OutboxMessage.Status.SENDING)
    ).update(status=OutboxMessage.Status.PENDING, last_error="", send_after=timezone.now())
    transaction.on_commit(lambda: enqueue(list(message_ids)))
    return count
