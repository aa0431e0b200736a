"""Outcomes, adverse events and expedited reports (SPEC §2): what the registry services accept, refuse
and open, who may do each, and the audit trail they leave."""

from datetime import UTC, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from atmp_clinic.accounts.models import Organisation
from atmp_clinic.audit.selectors import events_for
from atmp_clinic.followup import services as followup_services
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.patients.models import Patient
from atmp_clinic.registry import services
from atmp_clinic.registry.grading import CrsCriteria, IcansCriteria
from atmp_clinic.registry.models import AdverseEvent, ExpeditedReport, OutcomeRecord, Section
from atmp_clinic.registry.selectors import grading_reasons_shown
from tests.exemptions.conftest import user
from tests.followup.conftest import enrolled_patient, plan_for

pytestmark = pytest.mark.django_db

ALIVE = {"vital_status": "alive"}


@pytest.fixture(autouse=True)
def _demo(demo):
    """The demo's people and products (seeded again after a test that emptied the database)."""


def noon(day):
    return time_machine.travel(timezone.datetime(day.year, day.month, day.day, 12, tzinfo=UTC), tick=False)


@pytest.fixture
def plan() -> FollowUpPlan:
    return plan_for(enrolled_patient())


@pytest.fixture
def visit(plan) -> FollowUpVisit:
    """The plan's day-7 visit, recorded as done on its due date; the test runs on that day."""
    visit = plan.visits.order_by("due_on").first()
    with noon(visit.due_on):
        followup_services.visit_record(actor=user("clinician"), visit=visit, performed_on=visit.due_on)
        visit.refresh_from_db()
        yield visit


def collecting(visit: FollowUpVisit, *sections: str) -> FollowUpVisit:
    FollowUpVisit.objects.filter(pk=visit.pk).update(collects=[*visit.collects, *sections])
    visit.refresh_from_db()
    return visit


def adverse_event(plan, **fields) -> AdverseEvent:
    """A grade-2 event of today, not serious and not related, unless told otherwise."""
    arguments = {
        "term": "Pyrexia", "onset_on": timezone.localdate(), "relatedness": "not_related",
        "outcome": "recovering", "grade": 2,
    } | fields  # fmt: skip
    return services.adverse_event_record(actor=user("clinician"), plan=plan, **arguments)


SERIOUS_REACTION = {"serious": True, "seriousness": ["hospitalisation"], "relatedness": "probable"}


def messages_of(error: ValidationError, field: str | None = None) -> str:
    if field is not None:
        return " ".join(error.message_dict[field])
    return " ".join(error.messages)


# --- Outcome records -------------------------------------------------------------------------------


def test_the_outcome_of_a_visit_is_recorded_and_audited(visit):
    outcome = services.outcome_record(
        actor=user("clinician"), visit=visit, vital_status="alive", disease_response="CR", ecog=1,
        vector_copy_number="0.250", car_t_persistence="detected", b_cell_aplasia=True,
    )  # fmt: skip
    outcome.refresh_from_db()
    assert (outcome.disease_response, outcome.ecog, outcome.b_cell_aplasia) == ("CR", 1, True)
    assert [event.action for event in events_for(obj=outcome)] == ["outcome_recorded"]


def test_a_field_of_a_section_the_visit_does_not_collect_is_refused(visit):
    assert Section.QUALITY_OF_LIFE not in services.visit_sections(visit)
    with pytest.raises(ValidationError) as refused:
        services.outcome_record(actor=user("clinician"), visit=visit, **ALIVE, eq5d_vas=80)
    assert "does not collect: eq5d_vas" in messages_of(refused.value)
    assert not OutcomeRecord.objects.filter(visit=visit).exists()


def test_the_vital_status_is_required_when_the_visit_collects_it(visit):
    with pytest.raises(ValidationError) as refused:
        services.outcome_record(actor=user("clinician"), visit=visit, ecog=0)
    assert "alive" in messages_of(refused.value, "vital_status")


def test_the_outcome_waits_for_the_visit_to_take_place(plan):
    later = plan.visits.order_by("due_on")[1]
    with pytest.raises(ValidationError, match="took place"):
        services.outcome_record(actor=user("clinician"), visit=later, **ALIVE)


def test_a_visit_has_one_outcome(visit):
    services.outcome_record(actor=user("clinician"), visit=visit, **ALIVE)
    with pytest.raises(ValidationError, match="already recorded"):
        services.outcome_record(actor=user("clinician"), visit=visit, **ALIVE)


@pytest.mark.parametrize("who", ["pharmacist", "clinician_2", "clinician_b", "reviewer"])
def test_only_a_clinician_of_the_patients_hospital_records_the_outcome(visit, who):
    with pytest.raises(PermissionDenied):
        services.outcome_record(actor=user(who), visit=visit, **ALIVE)
    assert not OutcomeRecord.objects.filter(visit=visit).exists()


def test_a_death_in_the_outcome_ends_the_plan(visit):
    services.outcome_record(
        actor=user("clinician"), visit=visit, vital_status="dead", date_of_death=visit.performed_on,
        cause_of_death="Progressive disease",
    )  # fmt: skip
    plan = FollowUpPlan.objects.get(pk=visit.plan_id)
    assert (plan.status, plan.end_reason, plan.ended_on) == ("ended", "death", visit.performed_on)
    assert plan.patient.date_of_death == visit.performed_on


def test_a_death_needs_its_date(visit):
    with pytest.raises(ValidationError) as refused:
        services.outcome_record(actor=user("clinician"), visit=visit, vital_status="dead")
    assert "date of death" in messages_of(refused.value, "date_of_death")


EQ5D = {
    "eq5d_mobility": 1, "eq5d_self_care": 1, "eq5d_usual_activities": 2, "eq5d_pain_discomfort": 2,
    "eq5d_anxiety_depression": 3, "eq5d_vas": 75,
}  # fmt: skip


def test_eq5d5l_is_recorded_where_the_visit_collects_quality_of_life(visit):
    visit = collecting(visit, Section.QUALITY_OF_LIFE)
    outcome = services.outcome_record(actor=user("clinician"), visit=visit, **ALIVE, **EQ5D)
    outcome.refresh_from_db()
    assert (outcome.eq5d_anxiety_depression, outcome.eq5d_vas) == (3, 75)


@pytest.mark.parametrize(
    "change",
    [{"eq5d_mobility": 6}, {"eq5d_self_care": 0}, {"eq5d_vas": 101}, {"eq5d_pain_discomfort": None}],
    ids=["level 6", "level 0", "VAS 101", "a dimension missing"],
)
def test_eq5d5l_invalid_levels_are_refused(visit, change):
    visit = collecting(visit, Section.QUALITY_OF_LIFE)
    with pytest.raises(ValidationError, match="EQ"):
        services.outcome_record(actor=user("clinician"), visit=visit, **ALIVE, **(EQ5D | change))
    assert not OutcomeRecord.objects.filter(visit=visit).exists()


def test_the_template_names_quality_of_life_as_the_registry_does(plan):
    """The default templates' month visits ask for EQ-5D-5L: the registry must recognise what they ask."""
    month_3 = plan.visits.get(label="Month 3")
    assert Section.QUALITY_OF_LIFE in services.visit_sections(month_3)


# --- Adverse events --------------------------------------------------------------------------------


def test_an_adverse_event_is_recorded_and_audited(visit):
    event = adverse_event(visit.plan, visit=visit, special_interest=["serious_infection"])
    event.refresh_from_db()
    assert (event.grade, event.special_interest, event.visit_id) == (2, ["serious_infection"], visit.pk)
    assert [audit.action for audit in events_for(obj=event)] == ["adverse_event_recorded"]


def test_grade_5_with_outcome_recovered_is_refused(visit):
    with pytest.raises(ValidationError) as refused:
        adverse_event(visit.plan, grade=5, outcome="recovered")
    assert "fatal" in messages_of(refused.value, "outcome")


def test_a_fatal_event_is_grade_5_and_serious(visit):
    with pytest.raises(ValidationError) as refused:
        adverse_event(visit.plan, grade=4, outcome="fatal", serious=True, seriousness=["death"])
    assert "grade 5" in messages_of(refused.value, "grade")


def test_an_event_before_the_administration_is_refused(visit):
    with pytest.raises(ValidationError) as refused:
        adverse_event(visit.plan, onset_on=visit.plan.starts_on - timedelta(days=1))
    assert "before the administration" in messages_of(refused.value, "onset_on")


def test_an_event_cannot_resolve_before_its_onset(visit):
    with pytest.raises(ValidationError) as refused:
        adverse_event(visit.plan, resolved_on=timezone.localdate() - timedelta(days=1))
    assert "before its onset" in messages_of(refused.value, "resolved_on")


def test_crs_is_graded_from_its_criteria_and_the_reasons_are_stored(visit):
    crs = CrsCriteria(fever=True, hypotension=True, vasopressors="one", oxygen="low_flow_nasal_cannula")
    event = adverse_event(visit.plan, term="Cytokine release syndrome", kind="crs", grade=None, crs=crs)
    event.refresh_from_db()
    assert event.grade == 3
    assert event.grading_criteria["vasopressors"] == "one" and event.grading_criteria["fever"] is True
    assert "Grade is that of the more severe of hypotension and hypoxia: grade 3." in event.grading_reasons


def test_icans_is_graded_from_its_criteria(visit):
    icans = IcansCriteria(ice_score=5, consciousness="awakens_to_voice")
    event = adverse_event(visit.plan, term="ICANS", kind="icans", grade=None, icans=icans)
    assert event.grade == 2 and event.grading_reasons[-1].endswith("grade 2.")


def test_criteria_that_are_not_crs_are_refused_with_the_reason(visit):
    crs = CrsCriteria(fever=False, hypotension=True)
    with pytest.raises(ValidationError) as refused:
        adverse_event(visit.plan, kind="crs", grade=None, crs=crs)
    assert "No fever ≥ 38.0 °C" in messages_of(refused.value, "grade")
    assert not AdverseEvent.objects.filter(plan=visit.plan).exists()


def test_a_fatal_crs_is_grade_5(visit):
    crs = CrsCriteria(fever=True, hypotension=True, vasopressors="multiple")
    event = adverse_event(
        visit.plan, kind="crs", grade=None, crs=crs, outcome="fatal", serious=True, seriousness=["death"]
    )
    assert event.grade == 5 and event.grading_reasons[-1] == "Fatal outcome: grade 5."


def test_grading_reasons_are_stored_in_english_whatever_the_recorders_language(visit):
    icans = IcansCriteria(ice_score=5, consciousness="awakens_to_voice")
    with translation.override("de"):
        event = adverse_event(visit.plan, term="ICANS", kind="icans", grade=None, icans=icans)
    event.refresh_from_db()
    assert event.grading_reasons[0] == "ICE score — 5/10, within 3–6: grade 2."
    assert event.grading_reasons[-1] == "ICANS grade is that of the most severe domain: grade 2."


def test_a_fatal_crs_reads_in_french_on_its_page_and_stays_english_in_the_record(visit):
    crs = CrsCriteria(fever=True, hypotension=True, vasopressors="multiple")
    event = adverse_event(
        visit.plan, kind="crs", grade=None, crs=crs, outcome="fatal", serious=True, seriousness=["death"]
    )
    with translation.override("fr"):
        shown = grading_reasons_shown(event)
    assert event.grading_reasons[-1] == "Fatal outcome: grade 5."
    assert shown[-1] == "Issue fatale : grade 5."
    assert "Hypotension nécessitant plusieurs vasopresseurs, vasopressine non comprise : grade 4." in shown


def test_a_refusal_of_the_criteria_is_in_the_recorders_language(visit):
    crs = CrsCriteria(fever=False, hypotension=True)
    with translation.override("es"), pytest.raises(ValidationError) as refused:
        adverse_event(visit.plan, kind="crs", grade=None, crs=crs)
    assert "Sin fiebre ≥ 38,0 °C" in messages_of(refused.value, "grade")


@pytest.mark.parametrize("who", ["pharmacist", "clinician_2", "clinician_b", "reviewer"])
def test_only_a_clinician_of_the_patients_hospital_records_adverse_events(visit, who):
    with pytest.raises(PermissionDenied):
        services.adverse_event_record(
            actor=user(who), plan=visit.plan, term="Pyrexia", onset_on=timezone.localdate(),
            relatedness="not_related", outcome="recovering", grade=1,
        )  # fmt: skip


# --- Expedited reports -----------------------------------------------------------------------------


def authority_rules(plan, **deadlines) -> None:
    Organisation.objects.filter(pk=plan.administration.request.authority_id).update(**deadlines)


def test_a_serious_related_event_opens_a_report_due_by_the_authoritys_deadline(visit):
    """The demo's Dutch authority wants serious reactions within 48 hours."""
    event = adverse_event(visit.plan, **SERIOUS_REACTION)
    report = event.expedited_report
    assert report.status == "open" and report.due_on == timezone.localdate() + timedelta(days=2)
    assert report.authority_id == visit.plan.administration.request.authority_id
    assert [audit.action for audit in events_for(obj=report)] == ["expedited_report_opened"]


@pytest.mark.parametrize(
    ("seriousness", "outcome", "grade", "days"),
    [
        (["hospitalisation"], "recovering", 3, 15),
        (["life_threatening"], "recovering", 4, 7),
        (["death"], "fatal", 5, 7),
    ],
    ids=["serious: 15 days", "life-threatening: 7 days", "fatal: 7 days"],
)
def test_the_eu_deadlines_are_15_days_and_7_when_fatal_or_life_threatening(
    visit, seriousness, outcome, grade, days
):
    authority_rules(
        visit.plan,
        expedited_report_deadline=timedelta(days=15),
        expedited_report_deadline_fatal=timedelta(days=7),
    )
    event = adverse_event(
        visit.plan,
        grade=grade,
        outcome=outcome,
        serious=True,
        seriousness=seriousness,
        relatedness="possible",
    )
    assert event.expedited_report.due_on == timezone.localdate() + timedelta(days=days)


@pytest.mark.parametrize(("hour", "days"), [(9, 1), (13, 2)])
def test_a_deadline_in_hours_counts_from_when_the_event_is_recorded(visit, hour, days):
    """36 hours from 09:00 ends the next evening; from 13:00, the morning after."""
    authority_rules(
        visit.plan,
        expedited_report_deadline=timedelta(hours=36),
        expedited_report_deadline_fatal=timedelta(hours=24),
    )
    day = visit.due_on
    with time_machine.travel(timezone.datetime(day.year, day.month, day.day, hour, tzinfo=UTC), tick=False):
        event = adverse_event(visit.plan, **SERIOUS_REACTION)
    assert event.expedited_report.due_on == day + timedelta(days=days)


def test_death_as_a_seriousness_criterion_needs_a_fatal_outcome(visit):
    with pytest.raises(ValidationError) as refused:
        adverse_event(visit.plan, grade=4, serious=True, seriousness=["death"])
    assert "fatal outcome" in messages_of(refused.value, "outcome")


def test_an_event_after_the_patients_death_is_refused(visit):
    Patient.objects.filter(pk=visit.plan.patient_id).update(date_of_death=visit.due_on - timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        adverse_event(visit.plan)
    assert "died on" in messages_of(refused.value, "onset_on")


def test_the_authoritys_own_deadlines_apply(visit):
    authority_rules(
        visit.plan,
        expedited_report_deadline=timedelta(days=10),
        expedited_report_deadline_fatal=timedelta(days=3),
    )
    serious = adverse_event(visit.plan, **SERIOUS_REACTION)
    fatal = adverse_event(
        visit.plan, term="Death", grade=5, outcome="fatal", serious=True, seriousness=["death"],
        relatedness="definite",
    )  # fmt: skip
    today = timezone.localdate()
    assert serious.expedited_report.due_on == today + timedelta(days=10)
    assert fatal.expedited_report.due_on == today + timedelta(days=3)


@pytest.mark.parametrize(
    "fields",
    [
        {"serious": True, "seriousness": ["hospitalisation"], "relatedness": "not_related"},
        {"serious": True, "seriousness": ["hospitalisation"], "relatedness": "unlikely"},
        {"serious": False, "relatedness": "definite"},
    ],
    ids=["serious, not related", "serious, unlikely", "related, not serious"],
)
def test_an_event_that_is_not_a_serious_adverse_reaction_opens_no_report(visit, fields):
    event = adverse_event(visit.plan, **fields)
    assert not ExpeditedReport.objects.filter(adverse_event=event).exists()


def test_serious_needs_its_criteria_and_criteria_make_it_serious(visit):
    with pytest.raises(ValidationError) as no_criteria:
        adverse_event(visit.plan, serious=True)
    with pytest.raises(ValidationError) as not_serious:
        adverse_event(visit.plan, seriousness=["hospitalisation"])
    assert "seriousness" in no_criteria.value.message_dict and "serious" in not_serious.value.message_dict


@pytest.fixture
def report(visit) -> ExpeditedReport:
    return adverse_event(visit.plan, **SERIOUS_REACTION).expedited_report


@pytest.mark.parametrize("who", ["clinician", "pharmacist"])
def test_the_hospitals_staff_submit_the_report_and_the_authority_acknowledges_it(report, who):
    report = services.expedited_report_submit(
        actor=user(who), report=report, narrative="  Fever, then sepsis. "
    )
    assert (report.status, report.narrative, report.submitted_by) == (
        "submitted",
        "Fever, then sepsis.",
        user(who),
    )
    report = services.expedited_report_acknowledge(actor=user("reviewer"), report=report)
    assert (report.status, report.acknowledged_by) == ("acknowledged", user("reviewer"))
    actions = [audit.action for audit in events_for(obj=report)]
    assert actions == [
        "expedited_report_opened",
        "expedited_report_submitted",
        "expedited_report_acknowledged",
    ]


def test_a_report_submitted_after_its_due_date_is_audited_as_late(report):
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        report = services.expedited_report_submit(actor=user("clinician"), report=report, narrative="Late.")
    assert report.is_overdue
    assert events_for(obj=report).get(action="expedited_report_submitted").after["late"] is True


@pytest.mark.parametrize(
    "who", ["pharmacist_2", "clinician_2", "clinician_b", "reviewer", "decider", "analyst"]
)
def test_only_the_patients_hospital_submits_the_report(report, who):
    with pytest.raises(PermissionDenied):
        services.expedited_report_submit(actor=user(who), report=report, narrative="Fever.")
    report.refresh_from_db()
    assert report.status == "open"


@pytest.mark.parametrize("who", ["clinician", "pharmacist", "reviewer_b", "analyst"])
def test_only_the_authoritys_reviewers_acknowledge_the_report(report, who):
    report = services.expedited_report_submit(actor=user("clinician"), report=report, narrative="Fever.")
    with pytest.raises(PermissionDenied):
        services.expedited_report_acknowledge(actor=user(who), report=report)
    report.refresh_from_db()
    assert report.status == "submitted"


def test_a_report_needs_a_narrative(report):
    with pytest.raises(ValidationError) as refused:
        services.expedited_report_submit(actor=user("clinician"), report=report, narrative="   ")
    assert "Describe the case" in messages_of(refused.value, "narrative")


def test_a_report_is_submitted_once_and_acknowledged_only_once_submitted(report):
    with pytest.raises(ValidationError, match="Only a submitted report"):
        services.expedited_report_acknowledge(actor=user("reviewer"), report=report)
    services.expedited_report_submit(actor=user("clinician"), report=report, narrative="Fever.")
    with pytest.raises(ValidationError, match="already submitted"):
        services.expedited_report_submit(actor=user("pharmacist"), report=report, narrative="Again.")
