"""Issue 5's story in a real browser: the clinician gives the product and the follow-up plan
appears; a week later the Day 7 visit is on the clinician's worklist and is recorded; the patient
logs in and sees the visits still to come. The server's clock moves with time-machine (the live
server runs in this process); each person logs in on the day they act."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from atmp_clinic.accounts.demo import DEMO_PASSWORD
from atmp_clinic.accounts.models import Role, User
from atmp_clinic.accounts.services import membership_create
from atmp_clinic.followup.models import FollowUpPlan
from atmp_clinic.manufacturing import services as manufacturing
from tests.conftest import signature_of
from tests.e2e.conftest import Person, screenshot
from tests.followup.conftest import approved_for, enrolled_patient
from tests.manufacturing.conftest import collect, make_batch, record_results

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def long_date(day) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def test_administration_makes_the_plan_the_clinician_records_a_visit_the_patient_sees_what_is_next(
    site, browser
):
    patient = enrolled_patient()  # with a login of their own, so only this story's plan is theirs
    login = User.objects.create_user("story-patient", password=DEMO_PASSWORD)
    membership_create(user=login, role=Role.PATIENT, organisation=patient.hospital)
    patient.user = login
    patient.save(update_fields=["user"])
    request = approved_for(patient)
    batch = make_batch(collect(request=request))
    record_results(batch)
    pharmacist = User.objects.get(username="pharmacist")
    batch = manufacturing.batch_release(actor=pharmacist, batch=batch, **signature_of(pharmacist))

    with time_machine.travel(timezone.now(), tick=True) as traveller:
        clinician = Person(browser, site, "clinician")
        clinician.page.goto(f"{site}/batches/{batch.pk}/")
        clinician.take(
            "Record the administration",
            **{"Administered at": timezone.now().strftime("%Y-%m-%dT%H:%M"), "Dose": "1 bag",
               "Patient code": patient.pseudonym, "Batch code": batch.batch_number},
        )  # fmt: skip
        clinician.open(request)
        clinician.page.get_by_role("link", name="Follow-up plan").click()
        clinician.page.get_by_role("link", name="Year 15").wait_for()
        screenshot(clinician.page, "follow-up-1-plan")
        clinician.close()

        plan = FollowUpPlan.objects.get(administration__request=request)
        day_7, day_14 = plan.visits.order_by("due_on")[:2]
        traveller.move_to(datetime.combine(day_7.due_on, time(9), tzinfo=UTC))

        clinician = Person(browser, site, "clinician")
        due = clinician.page.locator("section", has=clinician.page.get_by_role("heading", name="Visits due"))
        row = due.locator("tr", has_text=patient.pseudonym).filter(has_text="Day 7")
        row.wait_for()
        screenshot(clinician.page, "follow-up-2-clinician-worklist")
        row.get_by_role("link", name="Day 7").click()
        clinician.take("Record the visit", **{"Date of the visit": day_7.due_on.isoformat(),
                                              "Note": "No fever; blood counts taken."})  # fmt: skip
        clinician.page.get_by_text("Visit recorded").wait_for()
        screenshot(clinician.page, "follow-up-3-visit-recorded")
        clinician.close()

        patient_user = Person(browser, site, "story-patient")
        visits = patient_user.page.locator(
            "section", has=patient_user.page.get_by_role("heading", name="Upcoming visits")
        )
        visits.get_by_text(long_date(day_14.due_on)).wait_for()
        text = visits.inner_text()
        screenshot(patient_user.page, "follow-up-4-patient-portal")
        patient_user.close()

    assert long_date(day_7.due_on) not in text  # done: no longer upcoming
    assert "blood counts" not in text and patient.pseudonym not in text
    day_7.refresh_from_db()
    assert (day_7.status, day_7.performed_on) == ("completed", day_7.due_on)
    assert timedelta(0) <= day_7.due_on - plan.starts_on == timedelta(days=7)
