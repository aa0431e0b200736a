"""Each step tells the other side, through an outbox that sends each email at most once."""

import pytest
from django.utils import timezone

from atmp_clinic.exemptions import notifications, services
from atmp_clinic.exemptions.models import Notification
from tests.conftest import log_in, signature_of
from tests.exemptions.conftest import new_draft, submitted, user

pytestmark = pytest.mark.django_db


def outbox_of(request, action: str) -> set[str]:
    return set(
        Notification.objects.filter(request=request, event__action=action).values_list(
            "recipient__username", flat=True
        )
    )


def test_submission_tells_the_authoritys_validators():
    assert outbox_of(submitted(), "submitted") == {"reviewer"}


def test_the_physicians_signature_tells_the_pharmacists():
    draft = new_draft()
    services.request_co_sign(actor=user("clinician"), request=draft, **signature_of(user("clinician")))
    assert outbox_of(draft, "co_signed") == {"pharmacist"}


def test_validation_tells_the_hospital_and_the_assessors():
    request = services.request_validate(actor=user("reviewer"), request=submitted())
    assert outbox_of(request, "validated") == {"pharmacist", "assessor", "assessor2"}


def test_a_draft_withdrawn_tells_no_one_at_the_authority():
    draft = services.request_withdraw(actor=user("pharmacist"), request=new_draft(), reason="Not needed.")
    assert outbox_of(draft, "withdrawn") == set()


def test_the_actor_is_not_told_of_their_own_step():
    request = services.request_validate(actor=user("reviewer"), request=submitted())
    assert "reviewer" not in outbox_of(request, "validated")


def test_emails_hold_no_clinical_details():
    request = submitted()
    body = Notification.objects.filter(request=request).first().body
    assert (
        request.reference in body and request.indication not in body and request.patient.pseudonym not in body
    )


def test_a_notification_reaches_a_real_smtp_server(smtp_server):
    notification = Notification.objects.filter(request=submitted()).first()
    assert notifications.send(notification.pk)
    received = smtp_server.messages[0]
    assert (received["To"], received["Message-ID"]) == (
        "reviewer@demo.atmp-clinic.test",
        f"<{notification.idempotency_key}@atmp-clinic>",
    )


def test_sending_twice_sends_once(smtp_server):
    notification = Notification.objects.filter(request=submitted()).first()
    first, second = notifications.send(notification.pk), notifications.send(notification.pk)
    assert (first, second, len(smtp_server.messages)) == (True, False, 1)


def test_a_failed_send_stays_visible_and_waits_for_a_retry(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    notification = Notification.objects.filter(request=submitted()).first()
    with pytest.raises(OSError):
        notifications.send(notification.pk)
    notification.refresh_from_db()
    assert (
        notification.status,
        notification.attempts,
        "ConnectionRefusedError" in notification.last_error,
    ) == (
        Notification.Status.PENDING,
        1,
        True,
    )


def test_after_the_last_attempt_it_is_marked_failed(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    notification = Notification.objects.filter(request=submitted()).first()
    Notification.objects.filter(pk=notification.pk).update(attempts=notifications.MAX_ATTEMPTS - 1)
    with pytest.raises(OSError):
        notifications.send(notification.pk)
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED


def test_an_operator_resends_what_failed(smtp_server):
    notification = Notification.objects.filter(request=submitted()).first()
    Notification.objects.filter(pk=notification.pk).update(status=Notification.Status.FAILED, last_error="x")
    notifications.resend(notification_ids=[notification.pk])
    assert notifications.send(notification.pk) and len(smtp_server.messages) == 1


def test_the_sweep_finds_what_waited_too_long():
    notification = Notification.objects.filter(request=submitted()).first()
    Notification.objects.filter(pk=notification.pk).update(
        created_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    assert notification.pk in notifications.waiting()


def test_operator_sends_again_from_the_admin(client):
    notification = Notification.objects.filter(request=submitted()).first()
    Notification.objects.filter(pk=notification.pk).update(status=Notification.Status.SENDING)
    log_in(client, user("admin"))
    client.post(
        "/admin/exemptions/notification/",
        {"action": "send_again", "_selected_action": [notification.pk]},
    )
    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
