"""The words of the reminders (SPEC §5): the patient's language and dates, when, where and whom to call,
nothing clinical; and the English digest of overdue visits for the hospital's staff."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import translation

from atmp_clinic.accounts.models import Organisation
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit, Modality, visit_label_shown
from atmp_clinic.followup.reminder_texts import overdue_digest, reminder_email, reminder_sms
from atmp_clinic.patients.models import Patient, PatientIdentity

LANGUAGES = ["en", "de", "es", "fr"]
LABEL, COLLECTS, PSEUDONYM = "Month 3", ["replication_competent_vector", "blood_count"], "P-7K3Q-9XF2"


def make_hospital(**fields) -> Organisation:
    return Organisation(
        **{
            "name": "Amstel Universitair Medisch Centrum",
            "kind": Organisation.Kind.HOSPITAL,
            "country": "NL",
            "address": "Meibergdreef 9\n1105 AZ Amsterdam",
            "phone": "+31 20 555 0100",
        }
        | fields
    )


def make_visit(
    modality: str = Modality.IN_PERSON,
    *,
    hospital: Organisation | None = None,
    pk: int = 41,
    due_on: date = date(2026, 3, 12),
    pseudonym: str = PSEUDONYM,
    label: str = LABEL,
) -> FollowUpVisit:
    """An unsaved visit of a patient of `hospital`, with the relations the texts read already in memory."""
    patient = Patient(
        hospital=hospital or make_hospital(), pseudonym=pseudonym, year_of_birth=1980, sex="female"
    )
    PatientIdentity(patient=patient, given_name="Emma", family_name="Bakker", preferred_language="de")
    plan = FollowUpPlan(patient=patient, starts_on=date(2025, 12, 12))
    return FollowUpVisit(
        pk=pk,
        plan=plan,
        label=label,
        due_on=due_on,
        window_opens_on=due_on - timedelta(days=14),
        window_closes_on=due_on + timedelta(days=14),
        modality=modality,
        collects=COLLECTS,
    )


def all_texts(visit: FollowUpVisit, language: str) -> str:
    subject, body = reminder_email(visit, days_before=7, language=language)
    return "\n".join([subject, body, reminder_sms(visit, days_before=7, language=language)])


def test_each_language_has_its_own_subject():
    subjects = [reminder_email(make_visit(), days_before=7, language=language)[0] for language in LANGUAGES]
    assert subjects == [
        "Reminder: follow-up visit on March 12, 2026",
        "Erinnerung: Nachsorgetermin am 12. März 2026",
        "Recordatorio: visita de seguimiento el 12 de marzo de 2026",
        "Rappel\u00a0: visite de suivi le 12 mars 2026",
    ]


@pytest.mark.parametrize("modality", Modality.values)
@pytest.mark.parametrize("language", ["de", "es", "fr"])
def test_every_sentence_is_translated(modality, language):
    """No line of the English message is left in another language's, but the hospital's own words."""
    hospital = make_hospital()
    visit = make_visit(modality, hospital=hospital)
    english = set(all_texts(visit, "en").splitlines())
    translated = set(all_texts(visit, language).splitlines())
    assert english & translated <= {"", hospital.name, "Meibergdreef 9", "1105 AZ Amsterdam"}


@pytest.mark.parametrize(
    ("language", "written"),
    [
        ("en", "March 12, 2026"),
        ("de", "12. März 2026"),
        ("es", "12 de marzo de 2026"),
        ("fr", "12 mars 2026"),
    ],
)
def test_the_date_is_written_the_patients_way(language, written):
    assert written in reminder_email(make_visit(), days_before=7, language=language)[1]


def test_the_window_is_given_in_the_patients_language():
    body = reminder_email(make_visit(), days_before=7, language="de")[1]
    assert "vom 26. Februar 2026 bis zum 26. März 2026" in body


@pytest.mark.parametrize(("days_before", "when"), [(0, "today"), (1, "tomorrow"), (7, "in 7 days")])
def test_the_email_says_how_soon(days_before, when):
    body = reminder_email(make_visit(), days_before=days_before, language="en")[1]
    assert f"Your next follow-up visit is {when}, on March 12, 2026." in body


def test_how_soon_is_translated_with_its_plural():
    body = reminder_email(make_visit(), days_before=14, language="de")[1]
    assert "Ihr nächster Nachsorgetermin ist in 14 Tagen, am 12. März 2026." in body


def test_an_in_person_visit_gives_the_hospitals_name_and_address():
    body = reminder_email(make_visit(), days_before=7, language="en")[1]
    assert "Where:\nAmstel Universitair Medisch Centrum\nMeibergdreef 9\n1105 AZ Amsterdam" in body


def test_a_phone_visit_says_the_hospital_will_call():
    body = reminder_email(make_visit(Modality.PHONE), days_before=7, language="en")[1]
    assert "We will call you" in body and "Meibergdreef" not in body


def test_a_questionnaire_says_it_will_be_sent():
    body = reminder_email(make_visit(Modality.QUESTIONNAIRE), days_before=7, language="en")[1]
    assert "You will receive the questionnaire" in body and "Meibergdreef" not in body


def test_the_email_gives_the_number_to_call_to_change_it():
    body = reminder_email(make_visit(), days_before=7, language="en")[1]
    assert "call Amstel Universitair Medisch Centrum on +31 20 555 0100" in body


def test_without_a_phone_number_the_email_says_whom_to_contact():
    body = reminder_email(make_visit(hospital=make_hospital(phone="")), days_before=7, language="en")[1]
    assert "contact Amstel Universitair Medisch Centrum." in body


def test_the_email_mentions_the_calendar_file_and_that_it_holds_no_medical_information():
    body = reminder_email(make_visit(), days_before=7, language="en")[1]
    assert "attached calendar file" in body and "no medical information" in body


@pytest.mark.parametrize("modality", Modality.values)
@pytest.mark.parametrize("language", LANGUAGES)
def test_no_message_names_the_visit_its_tests_or_the_patient(modality, language):
    texts = all_texts(make_visit(modality), language)
    with translation.override(language):
        label_as_read = visit_label_shown(LABEL)  # "Monat 3": not in a German patient's message either
    for secret in [LABEL, label_as_read, *COLLECTS, PSEUDONYM, "Emma", "Bakker"]:
        assert secret not in texts


def test_the_sms_gives_date_hospital_and_phone():
    assert reminder_sms(make_visit(), days_before=7, language="en") == (
        "Reminder: follow-up visit on March 12, 2026 at Amstel Universitair Medisch Centrum. "
        "To change it, call +31 20 555 0100."
    )


@pytest.mark.django_db
@pytest.mark.parametrize("modality", Modality.values)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sms_fits_one_message_for_every_demo_hospital(modality, language):
    hospitals = list(Organisation.objects.filter(kind=Organisation.Kind.HOSPITAL))
    # September: the longest month name in Spanish and German, the longest English abbreviation.
    visits = [make_visit(modality, hospital=hospital, due_on=date(2026, 9, 30)) for hospital in hospitals]
    lengths = {
        visit.plan.patient.hospital.name: len(reminder_sms(visit, days_before=7, language=language))
        for visit in visits
    }
    assert hospitals and max(lengths.values()) <= 160, lengths


def test_the_language_active_before_is_active_after():
    with translation.override("fr"):
        reminder_email(make_visit(), days_before=7, language="de")
        assert translation.get_language() == "fr"


def overdue(pseudonym: str, label: str, due_on: date, hospital: Organisation) -> FollowUpVisit:
    return make_visit(hospital=hospital, pseudonym=pseudonym, label=label, due_on=due_on)


@pytest.fixture
def digest():
    hospital = make_hospital()
    visits = [
        overdue("P-9XF2-7K3Q", "Month 6", date(2026, 3, 19), hospital),
        overdue("P-7K3Q-9XF2", "Day 28", date(2026, 2, 18), hospital),
        overdue("P-AB12-CD34", "Year 2", date(2026, 3, 18), hospital),
    ]
    with time_machine.travel(datetime(2026, 3, 20, 9, tzinfo=UTC), tick=False):
        return overdue_digest(
            hospital=hospital, visits=visits, link="https://clinic.example/followup/worklist/"
        )


def test_the_digest_counts_the_overdue_visits_in_its_subject(digest):
    assert digest[0] == "3 follow-up visits overdue at Amstel Universitair Medisch Centrum"


def test_the_digest_lists_each_visit_by_pseudonym_oldest_first(digest):
    assert digest[1].splitlines()[2:5] == [
        "- P-7K3Q-9XF2, Day 28: due 18 Feb 2026, 30 days overdue",
        "- P-AB12-CD34, Year 2: due 18 Mar 2026, 2 days overdue",
        "- P-9XF2-7K3Q, Month 6: due 19 Mar 2026, 1 day overdue",
    ]


def test_the_digest_links_the_worklist(digest):
    assert "https://clinic.example/followup/worklist/" in digest[1]


@time_machine.travel(datetime(2026, 3, 20, 9, tzinfo=UTC), tick=False)
def test_a_digest_of_one_visit_says_so():
    hospital = make_hospital()
    subject, body = overdue_digest(
        hospital=hospital, visits=[overdue(PSEUDONYM, "Day 7", date(2026, 3, 1), hospital)], link="https://x/"
    )
    assert (subject, body.splitlines()[0]) == (
        "1 follow-up visit overdue at Amstel Universitair Medisch Centrum",
        "1 follow-up visit is overdue at Amstel Universitair Medisch Centrum:",
    )


@time_machine.travel(datetime(2026, 3, 20, 9, tzinfo=UTC), tick=False)
def test_the_digest_is_english_whatever_language_is_active():
    hospital = make_hospital()
    with translation.override("de"):
        body = overdue_digest(
            hospital=hospital,
            visits=[overdue(PSEUDONYM, "Day 7", date(2026, 3, 1), hospital)],
            link="https://x/",
        )[1]
    assert "due 1 Mar 2026, 19 days overdue" in body
