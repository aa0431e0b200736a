"""Recording, missing and rescheduling visits; loss to follow-up; plans ended by death or withdrawn
consent; the authority's amendments. Time moves with time-machine: plans start today (day 0)."""

from datetime import UTC, date, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from atmp_clinic.audit.selectors import events_for
from atmp_clinic.followup import services
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit, OutboxMessage
from atmp_clinic.patients import services as patient_services
from atmp_clinic.patients.models import ConsentKind
from tests.exemptions.conftest import user
from tests.followup.conftest import enrolled_patient, plan_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan() -> FollowUpPlan:
    return plan_for(enrolled_patient())


def first(plan: FollowUpPlan, n: int = 1) -> list[FollowUpVisit] | FollowUpVisit:
    visits = list(plan.visits.order_by("due_on")[:n])
    return visits[0] if n == 1 else visits


def on(day):
    """Travel to noon UTC of `day`, so the local date is that day everywhere we count it."""
    return time_machine.travel(timezone.datetime(day.year, day.month, day.day, 12, tzinfo=UTC), tick=False)


def test_a_visit_inside_its_window_is_recorded_and_audited(plan):
    visit = first(plan)
    with on(visit.due_on):
        services.visit_record(actor=user("clinician"), visit=visit, performed_on=visit.due_on, note="Well.")
    visit.refresh_from_db()
    assert (visit.status, visit.performed_on, visit.was_in_window) == ("completed", visit.due_on, True)
    event = events_for(obj=visit).get()
    assert (event.action, event.before["status"], event.after["status"]) == (
        "visit_recorded",
        "scheduled",
        "completed",
    )


def test_a_visit_outside_its_window_needs_a_reason(plan):
    visit = first(plan)
    late = visit.window_closes_on + timedelta(days=2)
    with on(late):
        with pytest.raises(ValidationError) as refused:
            services.visit_record(actor=user("clinician"), visit=visit, performed_on=late)
        assert "outside the visit's window" in refused.value.message_dict["out_of_window_reason"][0]
        services.visit_record(
            actor=user("clinician"), visit=visit, performed_on=late, out_of_window_reason="Patient had flu."
        )
    visit.refresh_from_db()
    assert (visit.was_in_window, visit.out_of_window_reason) == (False, "Patient had flu.")
    assert events_for(obj=visit).get().reason == "Patient had flu."


def test_refusing_a_day_outside_a_window_across_a_year_end_gives_the_window_its_first_year(plan):
    visit = first(plan)
    opens_year = visit.due_on.year - 1
    FollowUpVisit.objects.filter(pk=visit.pk).update(window_opens_on=date(opens_year, 11, 5))
    visit.refresh_from_db()
    late = visit.window_closes_on + timedelta(days=2)
    with on(late), pytest.raises(ValidationError) as refused:
        services.visit_record(actor=user("clinician"), visit=visit, performed_on=late)
    assert f"(05 November {opens_year} to " in refused.value.message_dict["out_of_window_reason"][0]


@pytest.mark.parametrize(
    ("shift", "field", "message"),
    [(-1, "performed_on", "before the administration"), (+1, "performed_on", "in the future")],
)
def test_impossible_visit_dates_are_refused(plan, shift, field, message):
    visit = first(plan)
    when = plan.starts_on if shift < 0 else timezone.localdate()
    with pytest.raises(ValidationError) as refused:
        services.visit_record(
            actor=user("clinician"),
            visit=visit,
            performed_on=when + timedelta(days=shift),
            out_of_window_reason="x",
        )
    assert message in refused.value.message_dict[field][0]
    visit.refresh_from_db()
    assert visit.status == "scheduled" and not events_for(obj=visit).exists()


@pytest.mark.parametrize("who", ["pharmacist", "clinician_2", "clinician_b", "decider", "patient"])
def test_only_a_clinician_of_the_patients_hospital_records_visits(plan, who):
    visit = first(plan)
    with on(visit.due_on), pytest.raises(PermissionDenied):
        services.visit_record(actor=user(who), visit=visit, performed_on=visit.due_on)


def test_rescheduling_needs_a_reason_and_keeps_the_protocol_window(plan):
    visit = first(plan)
    window = (visit.window_opens_on, visit.window_closes_on)
    later = visit.window_closes_on + timedelta(days=5)
    with pytest.raises(ValidationError) as refused:
        services.visit_reschedule(actor=user("clinician"), visit=visit, due_on=later, reason="  ")
    assert refused.value.message_dict["reason"] == ["Say why the visit is rescheduled."]
    services.visit_reschedule(actor=user("clinician"), visit=visit, due_on=later, reason="Patient abroad.")
    services.visit_reschedule(
        actor=user("clinician"), visit=visit, due_on=later + timedelta(days=1), reason="Clinic closed."
    )
    visit.refresh_from_db()
    planned = plan.starts_on + timedelta(days=7)
    assert (visit.due_on, visit.originally_due_on, (visit.window_opens_on, visit.window_closes_on)) == (
        later + timedelta(days=1), planned, window,
    )  # fmt: skip
    assert [e.reason for e in events_for(obj=visit).order_by("pk")] == ["Patient abroad.", "Clinic closed."]


def test_a_visit_cannot_be_rescheduled_to_the_past(plan):
    with pytest.raises(ValidationError) as refused:
        services.visit_reschedule(
            actor=user("clinician"),
            visit=first(plan),
            due_on=timezone.localdate() - timedelta(days=1),
            reason="x",
        )
    assert "past date" in refused.value.message_dict["due_on"][0]


def test_two_consecutive_misses_flag_the_patient_and_a_visit_done_clears_it(plan):
    day_7, day_14, day_28 = first(plan, 3)
    with on(day_14.due_on):
        services.visit_mark_missed(actor=user("clinician"), visit=day_7, note="No answer.")
        assert not FollowUpPlan.objects.get(pk=plan.pk).is_at_risk
        services.visit_mark_missed(actor=user("clinician"), visit=day_14)
    plan.refresh_from_db()
    assert plan.at_risk_since == day_14.due_on
    with on(day_28.due_on):
        services.visit_record(actor=user("clinician"), visit=day_28, performed_on=day_28.due_on)
    plan.refresh_from_db()
    assert not plan.is_at_risk
    assert [e.action for e in events_for(obj=plan).order_by("pk")] == [
        "at_risk_of_loss_flagged", "at_risk_of_loss_cleared",
    ]  # fmt: skip


def test_a_visit_whose_window_has_not_opened_cannot_be_missed(plan):
    with pytest.raises(ValidationError, match="has not opened yet"):
        services.visit_mark_missed(actor=user("clinician"), visit=first(plan))


def test_the_nightly_sweep_misses_visits_whose_window_closed(plan):
    day_7, day_14, day_28 = first(plan, 3)
    after = day_14.window_closes_on + timedelta(days=1)
    with on(after):
        assert services.visits_miss_closed_windows(today=after) >= 2
        assert services.visits_miss_closed_windows(today=after) == 0
    statuses = list(
        plan.visits.filter(pk__in=[day_7.pk, day_14.pk, day_28.pk])
        .order_by("due_on")
        .values_list("status", flat=True)
    )
    assert statuses == ["missed", "missed", "scheduled"]
    plan.refresh_from_db()
    assert plan.is_at_risk
    event = events_for(obj=day_7).get()
    assert (event.actor, event.action) == (None, "visit_missed")


def test_a_missed_visit_may_still_be_recorded_late(plan):
    visit = first(plan)
    late = visit.window_closes_on + timedelta(days=1)
    with on(late):
        services.visits_miss_closed_windows(today=late)
        services.visit_record(
            actor=user("clinician"), visit=visit, performed_on=late, out_of_window_reason="Came late."
        )
    visit.refresh_from_db()
    assert (visit.status, visit.was_in_window) == ("completed", False)


def test_death_ends_the_plan_cancels_what_remains_and_stops_reminders(plan):
    visit = first(plan)
    reminder = OutboxMessage.objects.create(
        kind="visit_reminder", channel="email", visit=visit, visit_due_on=visit.due_on, days_before=14,
        hospital=plan.patient.hospital,
        idempotency_key=f"test-death-{visit.pk}", send_after=timezone.now(),
    )  # fmt: skip
    patient_services.patient_record_death(
        actor=user("clinician"), patient=plan.patient, date_of_death=timezone.localdate()
    )
    plan.refresh_from_db()
    assert (plan.status, plan.end_reason, plan.ended_on) == ("ended", "death", timezone.localdate())
    assert set(plan.visits.values_list("status", flat=True)) == {"cancelled"}
    assert plan.visits.count() == 22  # cancelled, never deleted
    reminder.refresh_from_db()
    assert (reminder.status, reminder.last_error) == (
        "cancelled",
        "The follow-up plan ended: death of the patient.",
    )
    assert events_for(obj=plan).get().action == "follow_up_plan_ended"
    with pytest.raises(ValidationError, match="plan ended"):
        services.visit_record(actor=user("clinician"), visit=visit, performed_on=timezone.localdate())


def test_withdrawing_treatment_consent_ends_the_plan_but_registry_consent_does_not(plan):
    clinician = user("clinician")
    registry = patient_services.consent_give(
        actor=clinician, patient=plan.patient, kind=ConsentKind.REGISTRY, given_on=timezone.localdate()
    )
    patient_services.consent_withdraw(actor=clinician, consent=registry, withdrawn_on=timezone.localdate())
    plan.refresh_from_db()
    assert plan.status == "active"
    treatment = plan.patient.consents.get(kind=ConsentKind.TREATMENT, withdrawn_on__isnull=True)
    patient_services.consent_withdraw(actor=clinician, consent=treatment, withdrawn_on=timezone.localdate())
    plan.refresh_from_db()
    assert (plan.status, plan.end_reason) == ("ended", "consent_withdrawn")


def test_the_authority_lengthens_a_plan_and_adds_a_visit(plan):
    extra = timezone.localdate() + timedelta(days=60)
    services.plan_amend(
        actor=user("decider"), plan=plan, reason="New safety signal for the class.", duration_years=17,
        extra_visits=[{"label": "Extra MRI", "due_on": extra, "window_days": 7, "modality": "in_person"}],
    )  # fmt: skip
    plan.refresh_from_db()
    added = plan.visits.filter(added_by_amendment=True).order_by("due_on")
    assert (plan.duration_years, plan.ends_on.year - plan.starts_on.year) == (17, 17)
    assert [v.label for v in added] == ["Extra MRI", "Year 16", "Year 17"]
    assert added[0].collects == ["vital_status", "adverse_events"]  # its outcome can be recorded
    event = events_for(obj=plan).get()
    assert (event.action, event.before["duration_years"], event.reason) == (
        "follow_up_plan_amended", 15, "New safety signal for the class.",
    )  # fmt: skip


@pytest.mark.parametrize("who", ["reviewer", "assessor", "decider_b", "clinician", "pharmacist"])
def test_only_a_decider_of_the_granting_authority_amends_a_plan(plan, who):
    with pytest.raises(PermissionDenied):
        services.plan_amend(actor=user(who), plan=plan, reason="x", duration_years=20)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration_years": 15}, "only lengthen"),
        ({"duration_years": 20, "reason": ""}, "Say why"),
        ({}, "Lengthen the plan or add"),
        (
            {"extra_visits": [{"label": "Old", "due_on": "past", "window_days": 3, "modality": "phone"}]},
            "today or later",
        ),
    ],
)
def test_bad_amendments_are_refused_and_change_nothing(plan, changes, message):
    for extra in changes.get("extra_visits", []):
        extra["due_on"] = timezone.localdate() - timedelta(days=1)
    arguments = {"reason": "Because.", **changes}
    with pytest.raises(ValidationError, match=message):
        services.plan_amend(actor=user("decider"), plan=plan, **arguments)
    plan.refresh_from_db()
    assert (plan.duration_years, plan.visits.count()) == (15, 22)
