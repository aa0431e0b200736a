"""Reminders through the outbox (SPEC §5): reminder points, consent per channel, quiet hours in the
patient's own time zone (across daylight-saving changes), one send per row, backoff, resend, and
the clinicians' daily digest. Tasks run in process; time is set with time-machine."""

import email.utils
import logging
import socket
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from atmp_clinic.accounts.models import Role
from atmp_clinic.followup import reminders, tasks
from atmp_clinic.followup.models import Channel, FollowUpVisit, OutboxMessage
from atmp_clinic.followup.reminder_texts import localised_date
from atmp_clinic.followup.services import visit_record, visit_reschedule
from atmp_clinic.patients import services as patient_services
from atmp_clinic.patients.models import Consent
from tests.exemptions.conftest import user
from tests.factories import member
from tests.followup.conftest import EMAIL, SMS

pytestmark = pytest.mark.django_db

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# A day a month ahead, so that every date the tests set is after the plan's day 0 (today).
DAY = timezone.now().date() + timedelta(days=30)
YEAR = DAY.year + 1


def local(zone: str, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone))


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def morning(day: date = DAY) -> datetime:
    """10:00 in Amsterdam, outside the quiet hours whatever the season."""
    return local("Europe/Amsterdam", day, 10)


def last_sunday(year: int, month: int) -> date:
    """Europe's daylight-saving changes: the last Sunday of March and of October."""
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)


def second_sunday_of_march(year: int) -> date:
    """The USA's change to summer time."""
    first = date(year, 3, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7)


def sweep(moment: datetime) -> dict:
    """Beat's dispatch at `moment`; the send tasks it enqueues run at once."""
    with time_machine.travel(moment, tick=False):
        return reminders.dispatch()


def write_rows(moment: datetime) -> None:
    """Only the first half of the sweep: the rows are written, nothing is handed to a worker."""
    with time_machine.travel(moment, tick=False):
        reminders.create_due_reminders(now=timezone.now())


def sent_to(mailbox, address: str) -> list:
    return [message for message in mailbox if message.to == [address]]


def mail_to(mailbox, visit: FollowUpVisit) -> list:
    """The emails to this visit's patient (the demo's own reminders may go out in the same sweeps)."""
    return sent_to(mailbox, visit.plan.patient.identity.email)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


# --- Reminder points -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("in_days", "points"),
    [(15, []), (14, [14]), (13, [14]), (5, [14]), (2, [2]), (0, [2]), (-1, [])],
)
def test_a_sweep_writes_the_reminder_point_the_visit_has_reached(reminder_visit, in_days, points):
    visit = reminder_visit(on=DAY + timedelta(days=in_days))
    write_rows(morning())
    assert list(visit.messages.values_list("days_before", flat=True)) == points


@pytest.mark.parametrize(
    ("first_seen", "points"),
    [(20, [14, 2]), (13, [14, 2]), (5, [14, 2]), (1, [2])],
)
def test_daily_sweeps_send_each_reminder_point_once(reminder_visit, mailoutbox, first_seen, points):
    """A visit planned `first_seen` days ahead, swept every morning until its day."""
    visit = reminder_visit(on=DAY + timedelta(days=first_seen))
    for day in range(first_seen + 1):
        sweep(morning(DAY + timedelta(days=day)))
    rows = visit.messages.order_by("-days_before")
    assert [(row.days_before, row.status) for row in rows] == [(p, OutboxMessage.Status.SENT) for p in points]
    assert len(mail_to(mailoutbox, visit)) == len(points)


@pytest.mark.parametrize(
    ("due_in", "sweeps", "said"),
    [
        (2, [(DAY, 10, 0)], "in 2 days"),
        (5, [(DAY, 10, 0)], "in 5 days"),  # the 14-day point, reached late
        # Written at 22:30 two days before, held over the quiet hours: the visit is then tomorrow.
        (2, [(DAY, 22, 30), (DAY + timedelta(days=1), 8, 5)], "tomorrow"),
        (0, [(DAY, 10, 0)], "today"),  # a sweep catching up on the visit's day
    ],
)
def test_the_reminder_says_how_far_off_the_visit_is_when_it_goes(
    reminder_visit, mailoutbox, due_in, sweeps, said
):
    visit = reminder_visit(on=DAY + timedelta(days=due_in))
    for moment in sweeps:
        sweep(local("Europe/Amsterdam", *moment))
    (message,) = mail_to(mailoutbox, visit)
    assert f"Your next follow-up visit is {said}, on" in message.body


# --- Consent per channel and addresses on record ----------------------------------------------


@pytest.mark.parametrize(
    ("consents", "channels"),
    [((EMAIL,), ["email"]), ((SMS,), ["sms"]), ((EMAIL, SMS), ["email", "sms"]), ((), [])],
)
def test_each_consented_channel_gets_one_reminder(reminder_visit, consents, channels):
    visit = reminder_visit(on=DAY + timedelta(days=2), consents=consents)
    write_rows(morning())
    assert sorted(visit.messages.values_list("channel", flat=True)) == channels


def test_a_reminder_whose_consent_was_withdrawn_is_cancelled_at_send_time(reminder_visit, mailoutbox):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    write_rows(morning())
    consent = Consent.objects.get(patient=visit.plan.patient, kind=EMAIL)
    patient_services.consent_withdraw(
        actor=user("clinician"), consent=consent, withdrawn_on=timezone.localdate()
    )
    sweep(morning())
    message = visit.messages.get()
    assert (message.status, message.last_error, mail_to(mailoutbox, visit)) == (
        OutboxMessage.Status.CANCELLED,
        "The patient withdrew consent to reminders by this channel.",
        [],
    )


@pytest.mark.parametrize(
    ("consents", "contact", "error"),
    [((EMAIL,), {"email": None}, "No email address on record."), ((SMS,), {"phone": None}, "No mobile number on record.")],
)  # fmt: skip
def test_no_address_on_record_cancels_the_reminder_once_with_the_reason(
    reminder_visit, consents, contact, error
):
    visit = reminder_visit(on=DAY + timedelta(days=2), consents=consents, **contact)
    sweep(morning())
    sweep(morning() + timedelta(hours=1))
    rows = list(visit.messages.values_list("status", "last_error", "attempts"))
    assert rows == [(OutboxMessage.Status.CANCELLED, error, 0)]


# --- Sending once ----------------------------------------------------------------------------


def test_dispatching_twice_writes_and_sends_nothing_twice(reminder_visit, mailoutbox):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    sweep(morning())
    again = sweep(morning() + timedelta(minutes=5))
    assert (again, visit.messages.count(), len(mail_to(mailoutbox, visit))) == (
        {"created": 0, "enqueued": 0},
        1,
        1,
    )


def test_sending_twice_delivers_one_email_with_the_key_as_message_id_and_a_calendar(
    reminder_visit, smtp_server
):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    write_rows(morning())
    message = visit.messages.get()
    with time_machine.travel(morning(), tick=False):
        results = [reminders.send(message.pk), reminders.send(message.pk)]
    (received,) = smtp_server.messages
    (calendar,) = [part for part in received.walk() if part.get_content_type() == "text/calendar"]
    assert results == [True, False]
    assert received["Message-ID"] == f"<{message.idempotency_key}@atmp-clinic>"
    assert calendar.get_filename() == "follow-up-visit.ics"
    assert f"UID:visit-{visit.pk}@atmp-clinic" in calendar.get_payload(decode=True).decode()


def test_a_redelivered_send_task_sends_nothing(reminder_visit, mailoutbox):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    sweep(morning())
    with time_machine.travel(morning() + timedelta(minutes=1), tick=False):
        again = tasks.send_message(visit.messages.get().pk)
    assert (again, len(mail_to(mailoutbox, visit))) == (False, 1)


def test_the_email_is_written_to_the_row_before_it_leaves(reminder_visit, mailoutbox):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    sweep(morning())
    message, (sent,) = visit.messages.get(), mail_to(mailoutbox, visit)
    assert (message.subject, message.body) == (sent.subject, sent.body)


# --- Quiet hours, in the patient's own time zone ----------------------------------------------


@pytest.mark.parametrize(
    ("zone", "moment", "allowed"),
    [
        ("Europe/Amsterdam", (date(YEAR, 1, 15), 20, 59), utc(date(YEAR, 1, 15), 19, 59)),
        ("Europe/Amsterdam", (date(YEAR, 1, 15), 21, 0), utc(date(YEAR, 1, 16), 7)),
        ("Europe/Amsterdam", (date(YEAR, 1, 16), 7, 59), utc(date(YEAR, 1, 16), 7)),
        ("Europe/Amsterdam", (date(YEAR, 1, 16), 8, 0), utc(date(YEAR, 1, 16), 7)),
        ("Europe/Amsterdam", (date(YEAR, 7, 15), 22, 30), utc(date(YEAR, 7, 16), 6)),
        # The night of the change to summer time: 08:00 on Sunday is already 06:00Z.
        ("Europe/Amsterdam", (last_sunday(YEAR, 3) - timedelta(days=1), 22, 30), utc(last_sunday(YEAR, 3), 6)),
        ("Europe/Amsterdam", (last_sunday(YEAR, 3), 1, 30), utc(last_sunday(YEAR, 3), 6)),
        # And back to winter time: 08:00 on Sunday is 07:00Z again.
        ("Europe/Amsterdam", (last_sunday(YEAR, 10) - timedelta(days=1), 22, 30), utc(last_sunday(YEAR, 10), 7)),
        ("America/New_York", (date(YEAR, 1, 15), 22, 30), utc(date(YEAR, 1, 16), 13)),
        ("America/New_York", (date(YEAR, 1, 16), 6, 0), utc(date(YEAR, 1, 16), 13)),
        ("America/New_York", (second_sunday_of_march(YEAR) - timedelta(days=1), 22, 30),
         utc(second_sunday_of_march(YEAR), 12)),
        ("Asia/Tokyo", (date(YEAR, 1, 15), 22, 30), utc(date(YEAR, 1, 15), 23)),
        ("Asia/Tokyo", (date(YEAR, 1, 16), 12, 0), utc(date(YEAR, 1, 16), 3)),
    ],
)  # fmt: skip
def test_quiet_hours_end_at_8_on_the_patients_clock(zone, moment, allowed):
    assert reminders.next_allowed(local(zone, *moment), ZoneInfo(zone)) == allowed


@pytest.mark.parametrize(
    ("zone", "moment", "allowed"),
    [
        ("Europe/Amsterdam", (date(YEAR, 1, 15), 22, 30), utc(date(YEAR, 1, 16), 7)),
        ("Europe/Amsterdam", (last_sunday(YEAR, 3) - timedelta(days=1), 22, 30), utc(last_sunday(YEAR, 3), 6)),
        ("Europe/Amsterdam", (last_sunday(YEAR, 10) - timedelta(days=1), 22, 30), utc(last_sunday(YEAR, 10), 7)),
        ("America/New_York", (date(YEAR, 1, 15), 22, 30), utc(date(YEAR, 1, 16), 13)),
        ("Asia/Tokyo", (date(YEAR, 1, 15), 22, 30), utc(date(YEAR, 1, 15), 23)),
    ],
)  # fmt: skip
def test_a_reminder_due_at_night_waits_for_8_local(reminder_visit, mailoutbox, zone, moment, allowed):
    now = local(zone, *moment)
    visit = reminder_visit(on=now.astimezone(UTC).date() + timedelta(days=2), time_zone=zone)
    sweep(now)
    waits_until = visit.messages.get().send_after
    sweep(allowed - timedelta(minutes=1))
    early = len(mail_to(mailoutbox, visit))
    sweep(allowed)
    assert (waits_until, early, visit.messages.get().status) == (allowed, 0, OutboxMessage.Status.SENT)


def test_a_reminder_enqueued_before_the_quiet_hours_and_run_in_them_waits_for_8(reminder_visit, mailoutbox):
    visit = reminder_visit(on=date(YEAR, 1, 17))
    write_rows(local("Europe/Amsterdam", date(YEAR, 1, 15), 20, 55))
    message = visit.messages.get()
    with time_machine.travel(local("Europe/Amsterdam", date(YEAR, 1, 15), 21, 5), tick=False):
        sent = tasks.send_message(message.pk)
    message.refresh_from_db()
    assert (sent, message.status, message.send_after, message.attempts, mail_to(mailoutbox, visit)) == (
        False,
        OutboxMessage.Status.PENDING,
        utc(date(YEAR, 1, 16), 7),
        0,
        [],
    )


# --- Failures, backoff and resend -------------------------------------------------------------


@pytest.fixture
def smtp_down(settings):
    """An SMTP server that is not there: a port on loopback with nothing listening."""
    settings.EMAIL_BACKEND = SMTP_BACKEND
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


def test_a_failed_send_waits_in_the_outbox_with_its_error_and_backoff(reminder_visit, smtp_down):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    sweep(morning())
    message = visit.messages.get()
    retried_by_sweep_at = [
        message.pk in reminders.sendable(now=morning() + timedelta(minutes=minutes)) for minutes in (1, 2)
    ]
    assert (message.status, message.attempts, message.send_after) == (
        OutboxMessage.Status.PENDING,
        1,
        morning() + timedelta(minutes=2),  # backoff(1)
    )
    assert message.last_error.startswith("ConnectionRefusedError")
    assert retried_by_sweep_at == [False, True]


def test_a_send_that_keeps_failing_is_failed_after_max_attempts(reminder_visit, smtp_down):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    message, moment, history = None, morning(), []
    for _ in range(reminders.MAX_ATTEMPTS):
        sweep(moment)
        message = visit.messages.get()
        history.append((message.attempts, message.send_after - moment))
        moment = message.send_after
    sweep(moment + timedelta(days=1))  # the sweeps leave a failed row alone
    message.refresh_from_db()
    attempts = range(1, reminders.MAX_ATTEMPTS + 1)
    assert history == [
        (attempt, min(timedelta(minutes=2**attempt), timedelta(hours=6))) for attempt in attempts
    ]
    assert (message.status, message.attempts) == (OutboxMessage.Status.FAILED, reminders.MAX_ATTEMPTS)


def test_a_row_left_sending_by_a_crash_is_not_sent_again_by_the_sweep(reminder_visit, mailoutbox):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    write_rows(morning())
    visit.messages.update(status=OutboxMessage.Status.SENDING, attempts=1)  # the worker died mid-send
    sweep(morning() + timedelta(hours=1))
    with time_machine.travel(morning() + timedelta(hours=1), tick=False):
        tasks.send_message(visit.messages.get().pk)  # nor by its task delivered again
    assert (visit.messages.get().status, mail_to(mailoutbox, visit)) == (OutboxMessage.Status.SENDING, [])


def test_resend_sends_a_row_stuck_in_sending(reminder_visit, mailoutbox, django_capture_on_commit_callbacks):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    write_rows(morning())
    message = visit.messages.get()
    visit.messages.update(status=OutboxMessage.Status.SENDING, attempts=1)
    later = time_machine.travel(morning() + timedelta(hours=1), tick=False)
    with later, django_capture_on_commit_callbacks(execute=True):
        reset = reminders.resend(message_ids=[message.pk])
    message.refresh_from_db()
    assert (reset, message.status, len(mail_to(mailoutbox, visit))) == (
        1,
        OutboxMessage.Status.SENT,
        1,
    )


def test_resend_sends_a_failed_row(reminder_visit, mailoutbox, django_capture_on_commit_callbacks):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    write_rows(morning())
    visit.messages.update(status=OutboxMessage.Status.FAILED, attempts=reminders.MAX_ATTEMPTS, last_error="x")
    later = time_machine.travel(morning() + timedelta(hours=1), tick=False)
    with later, django_capture_on_commit_callbacks(execute=True):
        reminders.resend(message_ids=[visit.messages.get().pk])
    assert (visit.messages.get().status, len(mail_to(mailoutbox, visit))) == (OutboxMessage.Status.SENT, 1)


# --- Visits that no longer need a reminder ----------------------------------------------------


def test_a_visit_recorded_before_its_reminder_went_is_not_reminded(reminder_visit, mailoutbox):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    write_rows(morning())
    with time_machine.travel(morning(), tick=False):
        visit_record(actor=user("clinician"), visit=visit, performed_on=DAY)
    sweep(morning() + timedelta(minutes=5))
    with time_machine.travel(morning() + timedelta(minutes=5), tick=False):
        tasks.send_message(visit.messages.get().pk)  # a task enqueued before the visit was recorded
    assert (visit.messages.get().status, mail_to(mailoutbox, visit)) == (OutboxMessage.Status.CANCELLED, [])


def test_a_rescheduled_visit_is_reminded_for_its_new_date_and_not_its_old_one(reminder_visit, mailoutbox):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    write_rows(morning())
    new_date = DAY + timedelta(days=9)
    with time_machine.travel(morning(), tick=False):
        visit_reschedule(actor=user("clinician"), visit=visit, due_on=new_date, reason="Patient abroad.")
    sweep(morning() + timedelta(minutes=5))
    rows = list(
        visit.messages.order_by("pk").values_list("visit_due_on", "days_before", "status", "last_error")
    )
    assert rows == [
        (
            DAY + timedelta(days=2),
            2,
            "cancelled",
            "The visit was rescheduled; the new date has reminders of its own.",
        ),
        (new_date, 14, "sent", ""),
    ]
    (email,) = mail_to(mailoutbox, visit)
    assert f"in 9 days, on {localised_date(new_date)}." in email.body
    # The protocol's window stays with the old date: the patient is told the agreed date alone.
    assert "Any day from" not in email.body and "This date was agreed with you" in email.body


def test_a_reminder_still_waiting_after_the_visit_day_is_cancelled(reminder_visit, mailoutbox):
    visit = reminder_visit(on=DAY)
    write_rows(local("Europe/Amsterdam", DAY, 22))  # held over the night, then the workers were down
    sweep(morning(DAY + timedelta(days=1)))
    message = visit.messages.get()
    assert (message.status, message.last_error, mail_to(mailoutbox, visit)) == (
        OutboxMessage.Status.CANCELLED, "The visit's date has passed.", [],
    )  # fmt: skip


def test_a_visit_cancelled_behind_a_pending_reminder_cancels_it_at_send_time(reminder_visit, mailoutbox):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    write_rows(morning())
    FollowUpVisit.objects.filter(pk=visit.pk).update(status=FollowUpVisit.Status.CANCELLED)
    sweep(morning() + timedelta(minutes=5))
    message = visit.messages.get()
    assert (message.status, message.last_error, mail_to(mailoutbox, visit)) == (
        OutboxMessage.Status.CANCELLED,
        "The visit is cancelled.",
        [],
    )


def test_a_patients_death_cancels_the_pending_reminders(reminder_visit, mailoutbox):
    visit = reminder_visit(on=DAY + timedelta(days=2))
    write_rows(morning())
    patient_services.patient_record_death(
        actor=user("clinician"), patient=visit.plan.patient, date_of_death=timezone.localdate()
    )
    sweep(morning() + timedelta(minutes=5))
    assert (visit.messages.get().status, mail_to(mailoutbox, visit)) == (OutboxMessage.Status.CANCELLED, [])


# --- SMS -------------------------------------------------------------------------------------


def test_an_sms_reminder_goes_through_the_console_backend(reminder_visit, settings, caplog, mailoutbox):
    settings.SMS_BACKEND = "console"
    visit = reminder_visit(on=DAY + timedelta(days=2), consents=(SMS,), phone="+31687654321")
    with caplog.at_level(logging.INFO, logger="atmp_clinic.followup.sms"):
        sweep(morning())
    message = visit.messages.get()
    (logged,) = [
        record.getMessage() for record in caplog.records if message.idempotency_key in record.getMessage()
    ]
    assert (message.channel, message.status, mail_to(mailoutbox, visit)) == (
        Channel.SMS,
        OutboxMessage.Status.SENT,
        [],
    )
    assert logged == f"SMS to +31687654321 [{message.idempotency_key}]: {message.body}"
    assert (message.subject, visit.plan.patient.hospital.name in message.body) == ("", True)


# --- The clinicians' daily digest -------------------------------------------------------------


def test_each_clinician_of_the_hospital_gets_one_digest_a_day(reminder_visit, mailoutbox):
    visit = reminder_visit(in_days=-1)
    hospital = visit.plan.patient.hospital
    colleague = member(role=Role.CLINICIAN, organisation=hospital)
    colleague.email = "second.clinician@example.org"
    colleague.save(update_fields=["email"])
    tasks.send_overdue_digests()
    tasks.send_overdue_digests()  # beat ran twice, or the task was delivered again
    digests = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.OVERDUE_DIGEST, hospital=hospital)
    assert sorted(digests.values_list("recipient__username", "status")) == sorted(
        [("clinician", OutboxMessage.Status.SENT), (colleague.username, OutboxMessage.Status.SENT)]
    )
    assert sorted(m.to[0] for m in mailoutbox if visit.plan.patient.pseudonym in m.body) == sorted(
        [user("clinician").email, colleague.email]
    )


def test_clinicians_of_other_hospitals_get_no_digest_of_this_one(reminder_visit):
    visit = reminder_visit(in_days=-1)
    reminders.create_overdue_digests(now=timezone.now())
    naming_the_patient = OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.OVERDUE_DIGEST, body__contains=visit.plan.patient.pseudonym
    )
    recipients = set(naming_the_patient.values_list("recipient__username", flat=True))
    assert recipients == {"clinician"}  # not clinician_2 (same country), clinician_b, nor the pharmacist


def test_the_next_days_digest_is_a_new_one(reminder_visit):
    visit = reminder_visit(in_days=-1)
    hospital = visit.plan.patient.hospital
    reminders.create_overdue_digests(now=timezone.now())
    reminders.create_overdue_digests(now=timezone.now() + timedelta(days=1))
    digests = OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.OVERDUE_DIGEST, hospital=hospital, recipient=user("clinician")
    )
    assert digests.count() == 2


def test_the_digest_names_the_overdue_visit_by_pseudonym(reminder_visit, mailoutbox):
    visit = reminder_visit(in_days=-1)
    tasks.send_overdue_digests()
    (digest,) = [m for m in mailoutbox if m.to == [user("clinician").email]]
    assert f"- {visit.plan.patient.pseudonym}, {visit.label}: due" in digest.body
    assert digest.subject == f"1 follow-up visit overdue at {visit.plan.patient.hospital.name}"
    assert email.utils.unquote(digest.extra_headers["Message-ID"]).startswith("digest-")
