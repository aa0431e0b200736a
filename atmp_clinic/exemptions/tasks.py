import logging
import smtplib

from atmp_clinic.celery import app

from . import notifications, services

logger = logging.getLogger(__name__)


@app.task(name="exemptions.lapse_unanswered")
def lapse_unanswered() -> list[str]:
    """Daily: requests whose hospital let the authority's deadline for answers pass lapse."""
    lapsed = services.lapse_unanswered()
    logger.info("lapsed %d requests: %s", len(lapsed), ", ".join(lapsed))
    return lapsed


@app.task(name="exemptions.send_notification", autoretry_for=(smtplib.SMTPException, OSError))
def send_notification(notification_id: int) -> bool:
    sent = notifications.send(notification_id)
    logger.info("notification %s %s", notification_id, "sent" if sent else "already taken or sent")
    return sent


@app.task(name="exemptions.send_waiting_notifications")
def send_waiting_notifications() -> int:
    """Every few minutes: what waited because the broker was down when its step happened."""
    ids = notifications.waiting()
    notifications.enqueue(ids)
    return len(ids)
