"""The calendar file attached to reminders (SPEC §5), read back with icalendar: all-day events on the
due dates, stable UIDs, when, where and whom to call, and nothing clinical."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from icalendar import Calendar

from atmp_clinic.followup.calendar import visits_calendar
from atmp_clinic.followup.models import Modality
from tests.followup.test_reminder_texts import COLLECTS, LABEL, PSEUDONYM, make_visit


def parsed(*visits, language: str = "en") -> Calendar:
    return Calendar.from_ical(visits_calendar(visits or [make_visit()], language=language))


def only_event(**visit_fields):
    language = visit_fields.pop("language", "en")
    return parsed(make_visit(**visit_fields), language=language).events[0]


def test_it_is_a_published_gregorian_calendar():
    calendar = parsed()
    assert [str(calendar[name]) for name in ("PRODID", "VERSION", "METHOD", "CALSCALE")] == [
        "-//ATMP Clinic//Follow-up visits//EN",
        "2.0",
        "PUBLISH",
        "GREGORIAN",
    ]


def test_each_visit_is_one_event():
    calendar = parsed(make_visit(pk=41), make_visit(pk=42, due_on=date(2026, 6, 12)))
    assert [str(event["UID"]) for event in calendar.events] == [
        "visit-41@atmp-clinic",
        "visit-42@atmp-clinic",
    ]


def test_the_event_lasts_the_due_day_all_day():
    event = only_event(due_on=date(2026, 3, 12))
    assert (event.decoded("DTSTART"), event["DTSTART"].params["VALUE"], event.decoded("DTEND")) == (
        date(2026, 3, 12),
        "DATE",
        date(2026, 3, 13),
    )


def test_the_uid_stays_the_same_so_a_new_file_updates_the_event():
    assert only_event(pk=41)["UID"] == only_event(pk=41)["UID"] == "visit-41@atmp-clinic"


@time_machine.travel(datetime(2026, 3, 1, 8, 30, tzinfo=UTC), tick=False)
def test_it_is_stamped_now_in_utc():
    assert only_event().decoded("DTSTAMP") == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def test_an_in_person_visit_is_at_the_hospitals_address_on_one_line():
    assert str(only_event()["LOCATION"]) == "Meibergdreef 9, 1105 AZ Amsterdam"


@pytest.mark.parametrize("modality", [Modality.PHONE, Modality.QUESTIONNAIRE])
def test_a_remote_visit_has_no_location(modality):
    assert "LOCATION" not in only_event(modality=modality)


@pytest.mark.parametrize(
    ("modality", "summary"),
    [
        (Modality.IN_PERSON, "Follow-up visit – Amstel Universitair Medisch Centrum"),
        (Modality.PHONE, "Follow-up phone call – Amstel Universitair Medisch Centrum"),
        (Modality.QUESTIONNAIRE, "Follow-up questionnaire – Amstel Universitair Medisch Centrum"),
    ],
)
def test_the_summary_names_the_kind_of_contact_and_the_hospital(modality, summary):
    assert str(only_event(modality=modality)["SUMMARY"]) == summary


def test_the_summary_is_in_the_patients_language():
    assert (
        str(only_event(language="de")["SUMMARY"]) == "Nachsorgetermin – Amstel Universitair Medisch Centrum"
    )


def test_the_description_gives_the_window_and_the_hospitals_phone():
    assert str(only_event(due_on=date(2026, 3, 12))["DESCRIPTION"]) == (
        "Any day from Feb. 26, 2026 to March 26, 2026 is fine; please call to agree the time.\n"
        "For questions or to change the date, call Amstel Universitair Medisch Centrum on +31 20 555 0100."
    )


def test_the_description_is_in_the_patients_language():
    assert "vom 26. Februar 2026 bis zum 26. März 2026" in str(only_event(language="de")["DESCRIPTION"])


@pytest.mark.parametrize("modality", Modality.values)
@pytest.mark.parametrize("language", ["en", "de", "es", "fr"])
def test_nothing_clinical_or_identifying_is_in_the_file(modality, language):
    text = visits_calendar([make_visit(modality)], language=language).decode()
    unfolded = text.replace("\r\n ", "")  # long lines are folded at 75 octets
    for secret in [LABEL, *COLLECTS, PSEUDONYM, "Emma", "Bakker"]:
        assert secret not in unfolded
