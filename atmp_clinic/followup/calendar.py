"""The patient's follow-up visits as an iCalendar file, attached to reminders (SPEC §5).

Only when, where and whom to call: calendars are synced to phones and shared with family, so nothing
clinical goes in (no label, tests, product, diagnosis or name)."""

from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone, translation
from icalendar import Calendar, Event

from atmp_clinic.followup.models import FollowUpVisit, Modality
from atmp_clinic.followup.reminder_texts import (
    address_lines,
    contact_sentence,
    visit_title,
    window_sentence,
)

PRODUCT_ID = "-//ATMP Clinic//Follow-up visits//EN"


def visit_uid(visit: FollowUpVisit) -> str:
    # Stable across files, so importing a later reminder's calendar updates the event instead of adding one.
    return f"visit-{visit.pk}@atmp-clinic"


def visits_calendar(visits: Iterable[FollowUpVisit], *, language: str) -> bytes:
    """One all-day event per visit on its due date, in the patient's language."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    stamp = timezone.now()
    with translation.override(language):
        for visit in visits:
            hospital = visit.plan.patient.hospital
            event = Event()
            event.add("uid", visit_uid(visit))
            event.add("dtstamp", stamp)
            event.add("dtstart", visit.due_on)
            event.add("dtend", visit.due_on + timedelta(days=1))
            # The due date is a target within a window, not an appointment: it should not show as busy.
            event.add("transp", "TRANSPARENT")
            event.add("summary", visit_title(visit, hospital))
            location = ", ".join(address_lines(hospital.address))
            if visit.modality == Modality.IN_PERSON and location:
                event.add("location", location)
            event.add("description", f"{window_sentence(visit)}\n{contact_sentence(hospital)}")
            calendar.add_component(event)
    return calendar.to_ical()
