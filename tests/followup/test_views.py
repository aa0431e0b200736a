"""The clinician's worklist, the visit and plan pages, and the patient portal, with who sees what."""

from datetime import UTC, date, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from icalendar import Calendar

from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit, visit_label_shown
from atmp_clinic.followup.selectors import own_upcoming_visits
from atmp_clinic.patients.models import ConsentKind
from tests.exemptions.conftest import client_for, user
from tests.followup.conftest import enrolled_patient, plan_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan() -> FollowUpPlan:
    return plan_for(enrolled_patient())


def noon(day):
    return time_machine.travel(timezone.datetime(day.year, day.month, day.day, 12, tzinfo=UTC), tick=False)


def section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_the_clinician_worklist_puts_overdue_visits_first_then_this_weeks(plan):
    day_7, day_14 = plan.visits.order_by("due_on")[:2]
    with noon(day_7.due_on + timedelta(days=1)):
        html = client_for("clinician").get(reverse("home")).content.decode()
    overdue, due = section(html, "visits-overdue"), section(html, "visits-due")
    assert reverse("visit-detail", args=[day_7.pk]) in overdue and "overdue" in overdue
    assert reverse("visit-detail", args=[day_14.pk]) in due
    assert plan.patient.pseudonym in overdue


@pytest.mark.parametrize("who", ["clinician_2", "clinician_b"])
def test_other_hospitals_clinicians_see_none_of_its_visits(plan, who):
    day_7 = plan.visits.order_by("due_on").first()
    with noon(day_7.due_on + timedelta(days=1)):
        html = client_for(who).get(reverse("home")).content.decode()
    assert plan.patient.pseudonym not in html


@pytest.mark.parametrize(
    "who", ["clinician_2", "clinician_b", "pharmacist_b", "reviewer_b", "analyst", "patient"]
)
def test_visit_and_plan_pages_are_404_for_other_hospitals_countries_and_roles(plan, who):
    visit = plan.visits.first()
    client = client_for(who)
    assert client.get(reverse("visit-detail", args=[visit.pk])).status_code == 404
    assert client.get(reverse("plan-detail", args=[plan.pk])).status_code == 404
    post = client.post(
        reverse("visit-step", args=[visit.pk, "record"]), {"performed_on": str(timezone.localdate())}
    )
    assert post.status_code == 404


def test_the_pharmacist_and_the_authority_read_the_visit_but_cannot_record_it(plan):
    visit = plan.visits.order_by("due_on").first()
    for who in ("pharmacist", "reviewer"):
        page = client_for(who).get(reverse("visit-detail", args=[visit.pk]))
        assert page.status_code == 200 and b"Record the visit" not in page.content
        with noon(visit.due_on):
            client = client_for(who)  # a login of that day: sessions expire after inactivity
            post = client.post(
                reverse("visit-step", args=[visit.pk, "record"]), {"performed_on": str(visit.due_on)}
            )
        assert post.status_code == 404
    visit.refresh_from_db()
    assert visit.status == "scheduled"


def test_a_clinician_records_a_visit_from_its_page_and_a_refusal_keeps_what_was_typed(plan):
    visit = plan.visits.order_by("due_on").first()
    late = visit.window_closes_on + timedelta(days=1)
    with noon(late):
        client = client_for("clinician")
        refused = client.post(
            reverse("visit-step", args=[visit.pk, "record"]),
            {"performed_on": str(late), "note": "Seen in clinic."},
        )
        assert refused.status_code == 400
        html = refused.content.decode()
        assert "outside the visit&#x27;s window" in html and "Seen in clinic." in html
        done = client.post(
            reverse("visit-step", args=[visit.pk, "record"]),
            {
                "performed_on": str(late),
                "out_of_window_reason": "Transport strike.",
                "note": "Seen in clinic.",
            },
        )
        assert done.status_code == 302
        page = client.get(reverse("visit-detail", args=[visit.pk])).content.decode()
    visit.refresh_from_db()
    assert (visit.status, visit.out_of_window_reason) == ("completed", "Transport strike.")
    assert "Visit recorded" in page and "Transport strike." in page


def test_reschedule_without_a_reason_is_refused_on_the_page(plan):
    visit = plan.visits.order_by("due_on").first()
    response = client_for("clinician").post(
        reverse("visit-step", args=[visit.pk, "reschedule"]),
        {"due_on": str(visit.due_on + timedelta(days=2))},
    )
    assert response.status_code == 400 and b"This field is required." in response.content


def test_the_decider_amends_the_plan_from_its_page(plan):
    client = client_for("decider")
    assert b"Amend the plan" in client.get(reverse("plan-detail", args=[plan.pk])).content
    response = client.post(
        reverse("plan-amend", args=[plan.pk]), {"duration_years": "16", "reason": "Signal."}
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.duration_years == 16
    assert b"Amend the plan" not in client_for("reviewer").get(reverse("plan-detail", args=[plan.pk])).content
    assert (
        client_for("reviewer").post(reverse("plan-amend", args=[plan.pk]), {"reason": "x"}).status_code == 404
    )


def test_a_german_decider_reads_the_amendment_form_in_german(plan):
    page = client_for("decider").get(reverse("plan-detail", args=[plan.pk]), HTTP_ACCEPT_LANGUAGE="de")
    assert "Plan ändern" in page.content.decode() and b"Amend the plan" not in page.content


def test_the_patient_portal_shows_only_their_own_visits(demo):
    own = user("patient").patient.follow_up_plans.get()
    other = plan_for(enrolled_patient())
    html = client_for("patient").get(reverse("home")).content.decode()
    first_own = own.visits.order_by("due_on").first()
    assert first_own.due_on.strftime("%-d %B %Y") in html
    assert other.patient.pseudonym not in html and own.patient.pseudonym not in html
    assert "Reminders" in html


def _window_from_last_year(visit: FollowUpVisit) -> int:
    """Open the visit's window on 5 November of the year before its due date; return that year."""
    opens_year = visit.due_on.year - 1
    FollowUpVisit.objects.filter(pk=visit.pk).update(window_opens_on=date(opens_year, 11, 5))
    return opens_year


@pytest.mark.parametrize(
    ("language", "opens"),
    [("en", "5 November {year} and "), ("de", "5. November {year} und "), ("fr", "le 5 novembre {year} et ")],
)
def test_the_patient_portal_gives_a_window_across_a_year_end_its_first_year(demo, language, opens):
    visit = own_upcoming_visits(user=user("patient")).first()
    year = _window_from_last_year(visit)
    page = client_for("patient").get(reverse("home"), HTTP_ACCEPT_LANGUAGE=language)
    assert opens.format(year=year) in page.content.decode()


def test_the_patient_portal_writes_a_window_within_one_year_without_repeating_it(demo):
    visit = own_upcoming_visits(user=user("patient")).first()
    FollowUpVisit.objects.filter(pk=visit.pk).update(
        window_opens_on=visit.due_on, window_closes_on=visit.due_on
    )
    html = client_for("patient").get(reverse("home")).content.decode()
    day = f"{visit.due_on.day} {visit.due_on:%B}"
    assert f"{day} and {day} {visit.due_on.year}" in html


def test_the_clinician_worklist_gives_a_window_across_a_year_end_its_first_year(plan):
    day_7 = plan.visits.order_by("due_on").first()
    year = _window_from_last_year(day_7)
    with noon(day_7.due_on + timedelta(days=1)):
        html = client_for("clinician").get(reverse("home")).content.decode()
    assert f"<td>5 Nov {year} – " in section(html, "visits-overdue")


def test_the_patient_downloads_a_calendar_of_their_own_visits_only(demo):
    own = user("patient").patient.follow_up_plans.get()
    plan_for(enrolled_patient())
    response = client_for("patient").get(reverse("own-calendar"))
    assert response["Content-Type"].startswith("text/calendar")
    uids = {str(event["UID"]) for event in Calendar.from_ical(response.content).walk("VEVENT")}
    assert uids == {f"visit-{pk}@atmp-clinic" for pk in own.visits.values_list("pk", flat=True)}


@pytest.mark.parametrize("who", ["clinician", "pharmacist", "analyst", "decider"])
def test_the_calendar_and_reminder_choices_are_only_for_patients(who):
    client = client_for(who)
    assert client.get(reverse("own-calendar")).status_code == 404
    assert client.post(reverse("own-reminder-channels"), {"email": "on"}).status_code == 404


def test_the_patient_changes_reminder_channels_and_the_history_stays(demo):
    patient = user("patient").patient
    client = client_for("patient")
    client.post(reverse("own-reminder-channels"), {"sms": "on"})
    active = set(patient.consents.filter(withdrawn_on__isnull=True).values_list("kind", flat=True))
    assert ConsentKind.REMINDER_SMS in active and ConsentKind.REMINDER_EMAIL not in active
    assert patient.consents.filter(kind=ConsentKind.REMINDER_EMAIL, withdrawn_on__isnull=False).exists()
    client.post(reverse("own-reminder-channels"), {"email": "on", "sms": "on"})
    assert patient.consents.filter(kind=ConsentKind.REMINDER_EMAIL, withdrawn_on__isnull=True).exists()


def test_the_clinician_worklist_takes_a_fixed_number_of_queries(plan):
    day_7 = plan.visits.order_by("due_on").first()
    with noon(day_7.due_on + timedelta(days=1)):
        client = client_for("clinician")
        client.get(reverse("home"))  # session and caches warm
        with CaptureQueriesContext(connection) as before:
            client.get(reverse("home"))
        FollowUpVisit.objects.bulk_create(
            FollowUpVisit(plan=plan, label=f"Extra {n}", due_on=day_7.due_on, window_opens_on=day_7.window_opens_on,
                          window_closes_on=day_7.window_closes_on, modality=day_7.modality)
            for n in range(10)
        )  # fmt: skip
        FollowUpPlan.objects.filter(pk=plan.pk).update(at_risk_since=timezone.localdate())
        with CaptureQueriesContext(connection) as after:
            html = client.get(reverse("home")).content.decode()
    assert "at risk of loss" in html
    overdue = []  # the section's pages, followed to the last
    with noon(day_7.due_on + timedelta(days=1)):
        while not overdue or 'rel="next"' in overdue[-1]:
            page = client.get(reverse("home"), {"visits-overdue": len(overdue) + 1}).content.decode()
            overdue.append(section(page, "visits-overdue"))
    assert all(sum(f"Extra {n}<" in shown for shown in overdue) == 1 for n in range(10))  # each on one page
    assert all(shown.count("/visits/") <= 10 for shown in overdue)
    assert len(after.captured_queries) == len(before.captured_queries) <= 20


# --- Visit names in the reader's language ---------------------------------------------------------


def test_a_visit_page_in_german_names_the_visit_in_german_and_the_stored_label_stays(plan):
    visit = plan.visits.order_by("due_on").first()
    client = client_for("clinician")
    visit_page = client.get(
        reverse("visit-detail", args=[visit.pk]), HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()
    plan_page = client.get(reverse("plan-detail", args=[plan.pk]), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    visit.refresh_from_db()
    assert visit.label == "Day 7"
    assert "<h1>Tag 7 " in visit_page
    assert ">Tag 7</a>" in plan_page and ">Day 7<" not in plan_page


def test_the_worklist_in_french_names_the_visits_in_french(plan):
    day_7 = plan.visits.order_by("due_on").first()
    with noon(day_7.due_on + timedelta(days=1)):
        html = client_for("clinician").get(reverse("home"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert ">Jour 7</a>" in section(html, "visits-overdue")


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("en", "<dd>Vital status, Adverse events</dd>"),
        ("de", "<dd>Vitalstatus, Unerwünschte Ereignisse</dd>"),
    ],
)
def test_a_visit_page_names_what_the_visit_collects_in_the_page_language(plan, language, shown):
    visit = plan.visits.order_by("due_on").first()
    FollowUpVisit.objects.filter(pk=visit.pk).update(collects=["vital_status", "adverse_events"])
    page = client_for("clinician").get(
        reverse("visit-detail", args=[visit.pk]), HTTP_ACCEPT_LANGUAGE=language
    )
    html = page.content.decode()
    assert shown in html and "vital_status" not in html


@pytest.mark.parametrize(
    ("label", "language", "shown"),
    [
        ("Day 7", "de", "Tag 7"),
        ("Week 2", "es", "Semana 2"),
        ("Month 3", "fr", "Mois 3"),
        ("Year 6", "de", "Jahr 6"),
        ("Year 6", "en", "Year 6"),
        ("Extra MRI", "de", "Extra MRI"),  # typed by an authority: shown as typed
        ("Day 7 (phone)", "de", "Day 7 (phone)"),
        ("day 7", "de", "day 7"),
    ],
)
def test_canonical_visit_names_are_translated_and_any_other_is_shown_as_typed(label, language, shown):
    with translation.override(language):
        assert visit_label_shown(label) == shown
