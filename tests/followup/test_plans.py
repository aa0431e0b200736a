"""Plans from SPEC §3's templates: calendar arithmetic, counts, windows, and the plan made at day 0."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from atmp_clinic.exemptions.models import Decision
from atmp_clinic.followup.models import FollowUpPlan, FollowUpTemplateDefinition, VisitDefinition
from atmp_clinic.followup.services import due_date, window_days
from tests.conftest import log_in
from tests.exemptions.conftest import user
from tests.manufacturing.conftest import released_batch

pytestmark = pytest.mark.django_db


def test_month_6_after_31_august_is_the_end_of_february():
    assert (due_date(date(2026, 8, 31), 6, "months"), due_date(date(2027, 8, 31), 6, "months")) == (
        date(2027, 2, 28),
        date(2028, 2, 29),
    )


def test_a_year_after_29_february_is_28_february():
    assert due_date(date(2028, 2, 29), 1, "years") == date(2029, 2, 28)


@pytest.mark.parametrize(
    ("offset", "unit", "days"),
    [
        (7, "days", 3),
        (28, "days", 3),
        (3, "months", 14),
        (12, "months", 14),
        (18, "months", 30),
        (6, "years", 30),
    ],
)
def test_windows_follow_spec_section_3(offset, unit, days):
    assert window_days(offset, unit) == days


@pytest.mark.parametrize(
    ("code", "count"),
    [("integrating_vector", 22), ("non_integrating_gene_therapy", 8), ("somatic_cell_therapy", 8),
     ("tissue_engineered", 8)],
)  # fmt: skip
def test_the_four_default_templates_are_seeded(code, count):
    assert FollowUpTemplateDefinition.objects.get(code=code).visits.count() == count


def test_vector_tests_at_month_3_6_12_then_yearly_for_integrating_vectors():
    labels = [
        v.label
        for v in VisitDefinition.objects.filter(template__code="integrating_vector")
        if "replication_competent_vector" in v.collects
    ]
    assert labels[:3] == ["Month 3", "Month 6", "Month 12"] and labels[-1] == "Year 15"


def give(batch, when: datetime):
    from atmp_clinic.manufacturing import services

    return services.administration_record(
        actor=user("clinician"), batch=batch, administered_at=when, dose="1 bag",
        patient_code=batch.request.patient.pseudonym, batch_code=batch.batch_number,
    )  # fmt: skip


def test_giving_the_product_makes_the_plan_of_the_decision():
    batch = released_batch()
    administration = give(batch, batch.released_at)
    plan = FollowUpPlan.objects.get(administration=administration)
    visits = list(plan.visits.all())
    first, last = visits[0], visits[-1]
    day_0 = administration.administered_at.date()
    assert (plan.template_code, plan.duration_years, len(visits)) == ("integrating_vector", 15, 22)
    assert (first.label, first.due_on, first.window_opens_on) == ("Day 7", due_date(day_0, 7, "days"),
                                                                 due_date(day_0, 4, "days"))  # fmt: skip
    assert (last.label, last.due_on, last.modality) == ("Year 15", due_date(day_0, 15, "years"), "phone")


@pytest.mark.parametrize(("years", "count", "last"), [(10, 17, "Year 10"), (20, 27, "Year 20")])
def test_the_decision_may_shorten_or_lengthen_the_plan(years, count, last):
    batch = released_batch()
    Decision.objects.filter(request=batch.request).update(follow_up_years=years)
    plan = give(batch, batch.released_at).follow_up_plan
    visits = list(plan.visits.all())
    assert (len(visits), visits[-1].label) == (count, last)


def test_changing_a_template_later_does_not_rewrite_a_plan():
    batch = released_batch()
    plan = give(batch, batch.released_at).follow_up_plan
    before = list(plan.visits.values_list("due_on", "window_opens_on"))
    VisitDefinition.objects.filter(template__code="integrating_vector").update(window_days=1)
    assert list(plan.visits.values_list("due_on", "window_opens_on")) == before


def test_the_plan_is_audited_on_the_request():
    from atmp_clinic.audit.selectors import events_for

    batch = released_batch()
    give(batch, batch.released_at)
    event = events_for(obj=batch.request).get(action="follow_up_plan_created")
    assert (event.after["template"], event.after["visits"]) == ("integrating_vector", 22)


def test_day_0_is_the_date_of_administration():
    batch = released_batch()
    when = batch.released_at.replace(tzinfo=UTC)
    assert give(batch, when).follow_up_plan.starts_on == when.date()


def test_the_traceability_record_shows_the_plan():
    from django.test import Client
    from django.urls import reverse

    batch = released_batch()
    give(batch, batch.released_at)
    client = log_in(Client(), user("clinician"))
    page = client.get(reverse("patient-traceability", args=[batch.request.patient_id])).content.decode()
    assert (
        "Follow-up: Integrating vector or genome editing (incl. CAR-T), 15 years" in page
        and "Year 15" in page
    )


@pytest.mark.parametrize(
    ("code", "years", "labels"),
    [
        ("integrating_vector", 15,
         ["Day 7", "Day 14", "Day 28", "Month 3", "Month 6", "Month 9", "Month 12", "Month 18", "Month 24",
          *[f"Year {n}" for n in range(3, 16)]]),
        ("non_integrating_gene_therapy", 5, ["Month 1", "Month 3", "Month 6", "Month 12", *[f"Year {n}" for n in range(2, 6)]]),
        ("somatic_cell_therapy", 5, ["Month 1", "Month 3", "Month 6", "Month 12", *[f"Year {n}" for n in range(2, 6)]]),
        ("tissue_engineered", 5, ["Month 1", "Month 3", "Month 6", "Month 12", *[f"Year {n}" for n in range(2, 6)]]),
    ],
)  # fmt: skip
def test_each_template_makes_its_visits_on_calendar_dates_from_an_awkward_day_0(code, years, labels):
    """Day 0 on 31 August of a year before a leap year: months and years land on month ends."""
    with time_machine.travel(datetime(2027, 8, 31, 10, tzinfo=UTC), tick=False):
        batch = released_batch()
        Decision.objects.filter(request=batch.request).update(follow_up_template=code, follow_up_years=years)
        plan = give(batch, batch.released_at).follow_up_plan
    visits = list(plan.visits.order_by("due_on"))
    assert [v.label for v in visits] == labels
    by_label = {v.label: v.due_on for v in visits}
    if "Month 6" in by_label:
        assert by_label["Month 6"] == date(2028, 2, 29)  # leap year: 29 February, not 2 March
    assert by_label[f"Year {years}"] == date(2027 + years, 8, 31) == plan.ends_on
    assert all(v.window_opens_on <= v.due_on <= v.window_closes_on for v in visits)
