"""Dashboards (SPEC §6): who sees which plans, the figures computed from them, the images drawn,
and a page whose cost does not grow with the number of plans."""

import io
from datetime import timedelta

import matplotlib.image
import PIL.Image
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from atmp_clinic.followup import services as followup_services
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.patients import services as patient_services
from atmp_clinic.patients.models import Consent, ConsentKind, Patient
from atmp_clinic.registry.charts import bar_chart_png, kaplan_meier_png
from atmp_clinic.registry.dashboards import (
    adverse_events_by_grade,
    dashboard_figures,
    dashboard_scope,
    follow_up_compliance,
    kept_dashboard,
    survival_data,
    survival_summary,
    treated_by_class_and_hospital,
)
from atmp_clinic.registry.tasks import refresh_registry_figures
from tests.api.test_visits import given
from tests.exemptions.conftest import client_for, user
from tests.followup.conftest import EMAIL, enrolled_patient, plan_for
from tests.registry.test_services import SERIOUS_REACTION, adverse_event, noon

pytestmark = pytest.mark.django_db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _demo(demo):
    """The demo's people, products and plans (seeded again after a test that emptied the database)."""


def only(plan: FollowUpPlan):
    return FollowUpPlan.objects.filter(pk=plan.pk)


def assert_png(content: bytes) -> None:
    assert content.startswith(PNG_SIGNATURE)
    height, width, _ = matplotlib.image.imread(io.BytesIO(content), format="png").shape
    assert (width, height) > (100, 100)


# --- Scopes ----------------------------------------------------------------------------------------


def test_analyst_sees_only_patients_who_consent_to_the_registry():
    plan = plan_for(enrolled_patient(consents=(EMAIL,)))
    clinician = user("clinician")
    assert not dashboard_scope(user=user("analyst")).filter(pk=plan.pk).exists()

    consent = patient_services.consent_give(
        actor=clinician, patient=plan.patient, kind=ConsentKind.REGISTRY, given_on=timezone.localdate()
    )
    assert dashboard_scope(user=user("analyst")).filter(pk=plan.pk).exists()

    patient_services.consent_withdraw(actor=clinician, consent=consent, withdrawn_on=timezone.localdate())
    assert not dashboard_scope(user=user("analyst")).filter(pk=plan.pk).exists()


def test_analyst_scope_holds_no_patient_without_an_active_registry_consent():
    scope = dashboard_scope(user=user("analyst"))
    consenting = Consent.objects.filter(kind=ConsentKind.REGISTRY, withdrawn_on__isnull=True)
    assert scope.exists()
    assert not scope.exclude(patient__in=consenting.values("patient")).exists()


def test_reviewer_sees_their_countrys_hospitals_plans_and_not_another_countrys():
    plan = plan_for(enrolled_patient())  # at the demo's first Dutch hospital
    dutch = dashboard_scope(user=user("reviewer"))
    german = dashboard_scope(user=user("reviewer_b"))
    assert dutch.filter(pk=plan.pk).exists()
    assert not german.filter(pk=plan.pk).exists()
    assert set(dutch.values_list("patient__hospital__country", flat=True)) == {"NL"}
    assert set(german.values_list("patient__hospital__country", flat=True)) == {"DE"}


@pytest.mark.parametrize("username", ["pharmacist", "clinician"])
def test_hospital_staff_see_only_their_own_hospitals_plans(username):
    plan = plan_for(enrolled_patient())
    staff = user(username)
    scope = dashboard_scope(user=staff)
    assert scope.filter(pk=plan.pk).exists()
    assert set(scope.values_list("patient__hospital", flat=True)) == {staff.memberships.get().organisation_id}
    for other in ("clinician_2", "pharmacist_b"):
        assert not dashboard_scope(user=user(other)).filter(pk=plan.pk).exists()


@pytest.mark.parametrize("username", ["patient", "admin"])
def test_patients_and_administrators_have_no_dashboard(username):
    assert dashboard_scope(user=user(username)) is None
    client = client_for(username)
    for name in ("dashboard", "dashboard-survival", "dashboard-adverse-events"):
        assert client.get(reverse(name)).status_code == 404


def test_anonymous_visitor_is_sent_to_log_in():
    response = Client().get(reverse("dashboard"))
    assert response.status_code == 302


# --- Figures ---------------------------------------------------------------------------------------


def test_compliance_counts_visits_done_in_window_over_visits_due():
    plan = plan_for(enrolled_patient())
    first, second, third = plan.visits.order_by("due_on")[:3]
    today = third.window_closes_on + timedelta(days=1)
    clinician = user("clinician")
    with noon(today):
        followup_services.visit_record(actor=clinician, visit=first, performed_on=first.due_on)
        followup_services.visit_mark_missed(actor=clinician, visit=second, note="Did not come.")
        followup_services.visit_record(
            actor=clinician, visit=third, performed_on=today, out_of_window_reason="Patient was abroad."
        )
        overall, per_hospital = follow_up_compliance(only(plan), today)
    due = plan.visits.filter(due_on__lte=today).exclude(status=FollowUpVisit.Status.CANCELLED).count()
    assert due >= 3
    assert (overall.due, overall.done_in_window, overall.done_late, overall.missed) == (due, 1, 1, 1)
    assert overall.ratio == pytest.approx(1 / due)
    assert [(row.hospital, row.due) for row in per_hospital] == [(plan.patient.hospital.name, due)]


def test_compliance_before_any_visit_is_due_has_no_ratio():
    plan = plan_for(enrolled_patient())
    overall, _ = follow_up_compliance(only(plan), plan.starts_on)
    assert (overall.due, overall.ratio) == (0, None)


def test_a_visit_moved_beyond_its_window_is_still_due_on_its_protocol_date():
    plan = plan_for(enrolled_patient())
    first = plan.visits.order_by("due_on").first()
    followup_services.visit_reschedule(
        actor=user("clinician"), visit=first, due_on=first.window_closes_on + timedelta(days=30),
        reason="Patient in hospital elsewhere.",
    )  # fmt: skip
    overall, _ = follow_up_compliance(only(plan), first.due_on)
    assert (overall.due, overall.done_in_window) == (1, 0)


def test_cancelled_visits_are_not_due():
    plan = plan_for(enrolled_patient())
    plan.visits.update(status=FollowUpVisit.Status.CANCELLED)
    overall, _ = follow_up_compliance(only(plan), plan.ends_on)
    assert overall.due == 0


def test_adverse_events_are_counted_by_grade_with_the_serious_ones():
    plan = plan_for(enrolled_patient())
    adverse_event(plan, grade=1)
    adverse_event(plan, grade=3, term="Febrile neutropenia")
    adverse_event(plan, grade=3, term="Cytopenia", **SERIOUS_REACTION)
    summary = adverse_events_by_grade(only(plan))
    assert [(row.grade, row.events, row.patients) for row in summary.grades] == [
        (1, 1, 1), (2, 0, 0), (3, 2, 1), (4, 0, 0), (5, 0, 0),
    ]  # fmt: skip
    assert (summary.total, summary.serious) == (3, 1)


def test_patients_treated_are_counted_by_hospital_and_class():
    plan = plan_for(enrolled_patient())
    table = treated_by_class_and_hospital(only(plan))
    product_class = plan.administration.request.product.atmp_class
    column = [code for code, _ in table.classes].index(product_class)
    assert [(row.hospital, row.total) for row in table.rows] == [(plan.patient.hospital.name, 1)]
    assert table.rows[0].by_class[column] == 1
    assert (sum(table.class_totals), table.total) == (1, 1)


def test_a_living_patient_is_censored_today():
    plan = plan_for(enrolled_patient())
    today = plan.starts_on + timedelta(days=100)
    assert survival_data(only(plan), today) == ([100], [False])


def test_a_death_is_an_event_on_its_date():
    plan = plan_for(enrolled_patient())
    today = plan.starts_on + timedelta(days=100)
    with noon(today):
        patient_services.patient_record_death(
            actor=user("clinician"), patient=plan.patient, date_of_death=plan.starts_on + timedelta(days=40)
        )
    assert survival_data(only(plan), today) == ([40], [True])


def test_a_patient_whose_follow_up_ended_is_censored_then_and_a_later_death_is_not_counted():
    plan = plan_for(enrolled_patient())
    today = plan.starts_on + timedelta(days=300)
    with noon(plan.starts_on + timedelta(days=60)):
        consent = plan.patient.consents.get(kind=ConsentKind.TREATMENT)
        patient_services.consent_withdraw(
            actor=user("clinician"), consent=consent, withdrawn_on=timezone.localdate()
        )
    # Learnt of later, outside follow-up: the curve cannot count what the plan did not observe.
    Patient.objects.filter(pk=plan.patient_id).update(date_of_death=plan.starts_on + timedelta(days=200))
    assert survival_data(only(plan), today) == ([60], [False])


def test_follow_up_is_censored_at_the_end_of_a_completed_plan():
    plan = plan_for(enrolled_patient())
    assert survival_data(only(plan), plan.ends_on + timedelta(days=400)) == (
        [(plan.ends_on - plan.starts_on).days],
        [False],
    )


def test_survival_estimates_are_given_only_up_to_the_longest_follow_up():
    summary = survival_summary([30, 200, 365, 400, 720, 900], [True, False, True, False, False, True])
    assert (summary.patients, summary.deaths) == (6, 3)
    assert [estimate.months for estimate in summary.estimates] == [6, 12, 24]
    six_months = summary.estimates[0]
    assert six_months.survival == pytest.approx(5 / 6)
    assert six_months.lower < six_months.survival < six_months.upper


# --- Images ----------------------------------------------------------------------------------------


def test_kaplan_meier_image_is_a_png():
    assert_png(kaplan_meier_png([30, 200, 365, 400, 720, 900], [True, False, True, False, False, True]))


def test_kaplan_meier_image_without_patients_is_a_png_saying_so():
    assert_png(kaplan_meier_png([], []))


def test_kaplan_meier_image_of_one_patient_on_day_0_is_a_png():
    assert_png(kaplan_meier_png([0], [False]))


def png_title(content: bytes) -> str:
    return PIL.Image.open(io.BytesIO(content)).text["Title"]


def test_charts_are_drawn_in_the_readers_language():
    with translation.override("de"):
        survival = kaplan_meier_png([30, 200, 365], [True, False, True])
        empty = kaplan_meier_png([], [])
    assert png_title(survival) == png_title(empty) == "Gesamtüberleben"
    response = client_for("analyst").get(reverse("dashboard-adverse-events"), HTTP_ACCEPT_LANGUAGE="fr")
    assert png_title(response.content) == "Événements indésirables par grade"
    with translation.override("en"):
        assert png_title(kaplan_meier_png([30], [True])) == "Overall survival"


def test_bar_chart_is_a_png_with_data_and_without():
    labels = [f"Grade {grade}" for grade in range(1, 6)]
    assert_png(bar_chart_png(labels, [4, 2, 1, 0, 0], "Adverse events by grade", unit="Adverse events"))
    assert_png(bar_chart_png(labels, [0, 0, 0, 0, 0], "Adverse events by grade", unit="Adverse events"))
    assert_png(bar_chart_png([], [], "Adverse events by grade", unit="Adverse events"))


@pytest.mark.parametrize("name", ["dashboard-survival", "dashboard-adverse-events"])
def test_images_are_served_privately_as_png(name):
    response = client_for("analyst").get(reverse(name))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "private" in response["Cache-Control"]
    assert_png(response.content)


# --- Page ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["analyst", "reviewer", "pharmacist", "clinician_b"])
def test_dashboard_page_shows_its_figures_as_numbers_and_images(username):
    response = client_for(username).get(reverse("dashboard"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Patients treated" in body and "Follow-up compliance" in body
    assert f'src="{reverse("dashboard-survival")}"' in body
    assert 'alt="Kaplan–Meier curve of overall survival' in body


def test_dashboard_page_lists_the_hospitals_own_figures():
    plan = plan_for(enrolled_patient())
    adverse_event(plan, grade=4, term="Cytokine release syndrome")
    body = client_for("clinician").get(reverse("dashboard")).content.decode()
    assert plan.patient.hospital.name in body
    assert "Universitätsklinikum" not in body


def page_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("dashboard")).status_code == 200
    return len(queries)


def test_dashboard_page_costs_the_same_queries_whatever_the_number_of_plans():
    before = page_queries(client_for("clinician"))
    plan = plan_for(enrolled_patient())
    adverse_event(plan, grade=2)
    with noon(plan.visits.order_by("due_on").first().window_closes_on):  # another day: computed again
        assert page_queries(client_for("clinician")) == before
    # Session, user, whether a second factor was set up, membership (for the menu and for the
    # scope), the four figures, and the idle session's renewal (savepoint, update, release:
    # SESSION_SAVE_EVERY_REQUEST).
    assert before == 12


def test_dashboard_page_keeps_its_figures_and_costs_fewer_queries_while_they_are_kept(
    django_assert_num_queries,
):
    client = client_for("clinician")
    client.get(reverse("dashboard"))
    # Session, user, second factor, membership (menu, scope), the kept figures read from the cache
    # instead of their four queries, and the session's renewal (savepoint, update, release).
    with django_assert_num_queries(8):
        client.get(reverse("dashboard"))


# --- Kept figures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["analyst", "reviewer", "clinician"])
def test_kept_figures_equal_the_figures_computed_directly(username):
    today = timezone.localdate()
    for grade in (2, 4):  # treated a month ago: some of their visits are due
        adverse_event(
            given(enrolled_patient(consents=(EMAIL, ConsentKind.REGISTRY)), days_ago=30), grade=grade
        )
    person = user(username)
    kept = kept_dashboard(user=person, today=today)
    assert kept.figures.compliance.due and kept.figures.adverse_events.total  # something to compare
    assert kept.figures == dashboard_figures(dashboard_scope(user=person), today)


def test_kept_figures_are_shown_with_the_time_they_were_computed():
    body = client_for("analyst").get(reverse("dashboard")).content.decode()
    kept = kept_dashboard(user=user("analyst"), today=timezone.localdate())
    shown = timezone.localtime(kept.as_of).strftime("%H:%M")
    assert "Figures as of" in body and shown in body


def test_beat_refresh_brings_the_analysts_kept_figures_up_to_date():
    today = timezone.localdate()
    analyst = user("analyst")
    before = kept_dashboard(user=analyst, today=today)
    plan_for(enrolled_patient(consents=(EMAIL, ConsentKind.REGISTRY)))
    assert kept_dashboard(user=analyst, today=today) == before  # kept, not computed per view

    refresh_registry_figures.apply()
    after = kept_dashboard(user=analyst, today=today)
    assert after.figures.treated.total == before.figures.treated.total + 1
    assert after.figures == dashboard_figures(dashboard_scope(user=analyst), today)


def test_withdrawn_registry_consent_leaves_the_analysts_figures_at_once(django_capture_on_commit_callbacks):
    today = timezone.localdate()
    analyst = user("analyst")
    plan = plan_for(enrolled_patient(consents=(EMAIL, ConsentKind.REGISTRY)))
    with_them = kept_dashboard(user=analyst, today=today)
    consent = Consent.objects.get(patient=plan.patient, kind=ConsentKind.REGISTRY)

    with django_capture_on_commit_callbacks(execute=True):
        patient_services.consent_withdraw(actor=user("clinician"), consent=consent, withdrawn_on=today)
    without_them = kept_dashboard(user=analyst, today=today)
    assert without_them.figures.treated.total == with_them.figures.treated.total - 1
    assert without_them.figures == dashboard_figures(dashboard_scope(user=analyst), today)
