"""`/api/v1/visits/` (SPEC §2, §7): who sees which follow-up visit, the list and its filters, and
recording, missing and rescheduling a visit, with the refusals as a client meets them.

Each test gives the product itself, 28 days ago unless it says otherwise, so its plan's Day 7 and
Day 14 are overdue, Day 28 is due today and Month 3 is still to come. The demo's own plans are left
out of what the tests compare."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from atmp_clinic.accounts.demo import DEMO_USERS, DemoUser
from atmp_clinic.accounts.models import Role
from atmp_clinic.exemptions import services as exemption_services
from atmp_clinic.exemptions.models import ExemptionRequest
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.manufacturing import services as manufacturing_services
from atmp_clinic.manufacturing.models import Administration
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product
from tests.api.conftest import client_for, organisation_of, session_for
from tests.conftest import signature_of
from tests.exemptions.conftest import complete_fields, user
from tests.manufacturing.conftest import collect, make_batch, record_results

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo")]

VISITS = "/api/v1/visits/"
DAY_0_DAYS_AGO = 28


def detail_url(visit: FollowUpVisit) -> str:
    return f"{VISITS}{visit.pk}/"


def action_url(visit: FollowUpVisit, name: str) -> str:
    return f"{VISITS}{visit.pk}/{name}/"


def today() -> date:
    return timezone.localdate()


def approved_for(patient: Patient) -> ExemptionRequest:
    """As tests.exemptions.conftest.approved(), for another patient of the first Dutch hospital."""
    request = exemption_services.request_create(
        actor=user("pharmacist"), patient=patient, product=Product.objects.get(name="CD19 CAR-T cells"),
        **complete_fields(),
    )  # fmt: skip
    exemption_services.request_co_sign(
        actor=user("clinician"), request=request, **signature_of(user("clinician"))
    )
    request = exemption_services.request_submit(
        actor=user("pharmacist"), request=request, **signature_of(user("pharmacist"))
    )
    request = exemption_services.request_validate(actor=user("reviewer"), request=request)
    for assessor, kind in (("assessor", "quality"), ("assessor2", "clinical")):
        exemption_services.assessment_record(
            actor=user(assessor), request=request, kind=kind, report="Adequate.", recommendation="approve"
        )
    exemption_services.request_decide(
        actor=user("decider"), request=ExemptionRequest.objects.get(pk=request.pk), **signature_of(user("decider")),
        outcome="approved", reasons="Criteria met.",
    )  # fmt: skip
    return ExemptionRequest.objects.get(pk=request.pk)


def given(patient: Patient | None = None, *, days_ago: int = DAY_0_DAYS_AGO) -> FollowUpPlan:
    """The follow-up plan of a product given `days_ago` (day 0), the whole chain of identity walked
    then: for the demo user `patient`'s own record unless another patient is named."""
    with time_machine.travel(timezone.now() - timedelta(days=days_ago)):
        if patient is None:
            collection = collect()
        else:
            collection = collect(
                approved_for(patient),
                donation_identifier=f"NL000123EU20260000{patient.pk:03d}",
                check_character="",
            )
        batch = make_batch(collection, batch_number=f"CART-2026-{collection.pk:03d}")
        record_results(batch)
        batch = manufacturing_services.batch_release(
            actor=user("pharmacist"), batch=batch, **signature_of(user("pharmacist"))
        )
        manufacturing_services.administration_record(
            actor=user("clinician"), batch=batch, administered_at=timezone.now(), dose="1 bag",
            patient_code=batch.request.patient.pseudonym, batch_code=batch.batch_number,
        )  # fmt: skip
    return Administration.objects.get(batch=batch).follow_up_plan


def visit_of(plan: FollowUpPlan, label: str) -> FollowUpVisit:
    return plan.visits.get(label=label)


def fresh(visit: FollowUpVisit) -> FollowUpVisit:
    return FollowUpVisit.objects.get(pk=visit.pk)


def another_patient() -> Patient:
    """A patient of the first Dutch hospital who is not the demo user `patient`."""
    return (
        Patient.objects.filter(hospital=organisation_of("clinician"), user__isnull=True)
        .order_by("pk")
        .first()
    )


def listed(who: str, query: dict | None = None, client: APIClient | None = None) -> list[dict]:
    """Every page of the list, in order: the demo's plans make it longer than one page."""
    client = client or client_for(who)
    response = client.get(VISITS, query or {})
    items = []
    while True:
        data = response.json()
        items.extend(data["results"])
        if not data["next"]:
            return items
        response = client.get(data["next"])


def listed_ids(who: str, plan: FollowUpPlan, query: dict | None = None) -> set[int]:
    """What `who` lists of this plan's visits (nothing else is compared)."""
    return {item["id"] for item in listed(who, query) if item["plan"] == plan.pk}


def ids(plan: FollowUpPlan, *labels: str) -> set[int]:
    visits = plan.visits.filter(label__in=labels) if labels else plan.visits.all()
    return set(visits.values_list("pk", flat=True))


def sees_visits_of_first_dutch_hospital(demo_user: DemoUser) -> bool:
    """The hospital's staff and the Dutch authority's reviewers. Not the demo user `patient`, whose
    record the plans of these tests are: patients see their upcoming visits in the portal, never the
    records behind them (notes, who recorded what)."""
    if demo_user.country != "NL":
        return False
    if demo_user.role == Role.REVIEWER:
        return True
    return demo_user.hospital_index == 0 and demo_user.role in (Role.PHARMACIST, Role.CLINICIAN)


# --- who sees which visit --------------------------------------------------------------------


@pytest.mark.parametrize("demo_user", DEMO_USERS, ids=lambda demo_user: demo_user.username)
def test_every_demo_user_lists_the_visits_of_their_organisations_patients_or_none(demo_user):
    plan = given()
    expected = ids(plan) if sees_visits_of_first_dutch_hospital(demo_user) else set()
    assert listed_ids(demo_user.username, plan) == expected


@pytest.mark.parametrize("demo_user", DEMO_USERS, ids=lambda demo_user: demo_user.username)
def test_every_demo_user_opens_a_visit_they_may_see_and_gets_404_for_the_others(demo_user):
    visit = visit_of(given(), "Day 28")
    response = client_for(demo_user.username).get(detail_url(visit))
    assert response.status_code == (200 if sees_visits_of_first_dutch_hospital(demo_user) else 404)


@pytest.mark.parametrize("username", ["clinician_2", "clinician_b", "decider_b", "analyst"])
def test_visit_of_another_hospital_country_or_the_analyst_reveals_nothing(username):
    plan = given()
    visit = visit_of(plan, "Day 28")
    response = client_for(username).get(detail_url(visit))
    assert response.status_code == 404 and plan.patient.pseudonym not in response.content.decode()
    assert plan.patient.pseudonym not in client_for(username).get(VISITS).content.decode()


def test_patient_never_lists_another_patients_visits():
    own, other = given(), given(another_patient())
    listed_plans = {item["plan"] for item in listed("patient")}
    assert own.pk not in listed_plans and other.pk not in listed_plans


def test_patient_gets_404_for_another_patients_visit():
    other = visit_of(given(another_patient()), "Day 28")
    assert client_for("patient").get(detail_url(other)).status_code == 404


def test_patient_does_not_open_the_record_of_their_own_visit_through_the_api():
    visit = visit_of(given(), "Day 28")
    assert client_for("patient").get(detail_url(visit)).status_code == 404


def test_unknown_visit_is_404():
    assert client_for("clinician").get(f"{VISITS}999999/").status_code == 404


def test_unauthenticated_caller_gets_401_and_no_data():
    given()
    response = APIClient().get(VISITS)
    assert response.status_code == 401 and "results" not in response.json()


def test_session_authenticates():
    plan = given()
    items = listed("clinician", client=session_for("clinician"))
    assert {item["id"] for item in items if item["plan"] == plan.pk} == ids(plan)


# --- the list --------------------------------------------------------------------------------


def test_list_item_shows_the_visit_by_pseudonym():
    plan = given()
    visit = visit_of(plan, "Day 28")
    client_for("clinician").post(
        action_url(visit, "record"), {"performed_on": today().isoformat(), "note": "Well."}, format="json"
    )
    visit = fresh(visit)
    [item] = [item for item in listed("reviewer") if item["id"] == visit.pk]
    assert item == {
        "id": visit.pk,
        "url": f"http://testserver{detail_url(visit)}",
        "plan": plan.pk,
        "patient": plan.patient.pseudonym,
        "label": "Day 28",
        "due_on": today().isoformat(),
        "window_opens_on": (today() - timedelta(days=3)).isoformat(),
        "window_closes_on": (today() + timedelta(days=3)).isoformat(),
        "originally_due_on": None,
        "modality": "in_person",
        "collects": visit.collects,
        "status": "completed",
        "performed_on": today().isoformat(),
        "in_window": True,
        "out_of_window_reason": "",
        "note": "Well.",
        "recorded_by": "clinician",
        "is_overdue": False,
    }


def test_a_visit_not_yet_done_is_neither_in_nor_out_of_its_window():
    visit = visit_of(given(), "Month 3")
    data = client_for("clinician").get(detail_url(visit)).json()
    assert (data["status"], data["performed_on"], data["in_window"], data["recorded_by"]) == (
        "scheduled",
        None,
        None,
        None,
    )


def test_list_never_shows_the_patients_identity():
    plan = given()
    response = client_for("clinician").get(VISITS, {"due_before": today().isoformat()})
    identity = Patient.objects.get(pk=plan.patient_id).identity
    assert plan.patient.pseudonym in response.content.decode()
    assert identity.family_name not in response.content.decode()


def test_list_is_ordered_by_due_date():
    given()
    given(another_patient(), days_ago=20)
    due_dates = [item["due_on"] for item in listed("clinician")]
    assert due_dates == sorted(due_dates)


def test_status_filter_lists_only_that_status():
    plan = given()
    client_for("clinician").post(
        action_url(visit_of(plan, "Day 7"), "missed"), {"note": "Did not come."}, format="json"
    )
    assert listed_ids("clinician", plan, {"status": "missed"}) == ids(plan, "Day 7")


def test_overdue_filter_lists_past_due_visits_not_done():
    plan = given()
    client_for("clinician").post(action_url(visit_of(plan, "Day 7"), "missed"), {}, format="json")
    assert listed_ids("clinician", plan, {"overdue": "true"}) == ids(plan, "Day 14")


def test_items_say_whether_they_are_overdue():
    plan = given()
    overdue = {
        item["label"] for item in listed("clinician") if item["plan"] == plan.pk and item["is_overdue"]
    }
    assert overdue == {"Day 7", "Day 14"}


def test_due_date_filters_include_both_ends():
    plan = given()
    query = {"due_after": (today() - timedelta(days=21)).isoformat(), "due_before": today().isoformat()}
    assert listed_ids("clinician", plan, query) == ids(plan, "Day 7", "Day 14", "Day 28")


def test_due_before_alone_lists_what_was_due_by_then():
    plan = given()
    query = {"due_before": (today() - timedelta(days=14)).isoformat()}
    assert listed_ids("clinician", plan, query) == ids(plan, "Day 7", "Day 14")


@pytest.mark.parametrize("name", ["due_before", "due_after"])
@pytest.mark.parametrize("value", ["31/05/2026", "2026-02-30", "soon"])
def test_a_date_that_is_not_one_is_400_saying_how_to_write_it(name, value):
    response = client_for("clinician").get(VISITS, {name: value})
    assert (response.status_code, response.json()) == (
        400,
        {name: ["Write a date as YYYY-MM-DD, e.g. 2026-05-31."]},
    )


def test_an_empty_date_range_is_400():
    response = client_for("clinician").get(VISITS, {"due_after": "2026-06-01", "due_before": "2026-05-01"})
    assert (response.status_code, response.json()) == (
        400,
        {"due_after": ["due_after must be on or before due_before."]},
    )


def test_unknown_status_is_400_naming_the_statuses():
    response = client_for("clinician").get(VISITS, {"status": "done"})
    assert (response.status_code, response.json()) == (
        400,
        {
            "status": [
                '"done" is not a status of a visit: use one of scheduled, completed, missed, cancelled.'
            ]
        },
    )


def test_overdue_that_is_not_true_or_false_is_400():
    response = client_for("clinician").get(VISITS, {"overdue": "perhaps"})
    assert response.json() == {"overdue": ["Write overdue=true or overdue=false."]}


def test_list_queries_do_not_grow_with_visits(django_assert_num_queries):
    plan = given()
    client_for("clinician").post(
        action_url(visit_of(plan, "Day 28"), "record"), {"performed_on": today().isoformat()}, format="json"
    )
    client = client_for("clinician")
    # token with user, count, visits with their plan's patient and who recorded them
    with django_assert_num_queries(3):
        response = client.get(VISITS, {"due_before": today().isoformat()})
    assert len(response.json()["results"]) >= 3


def test_list_queries_are_the_same_for_the_authority(django_assert_num_queries):
    given()
    client = client_for("decider")
    # the authority sees visits through the requests addressed to it: the same three queries
    with django_assert_num_queries(3):
        response = client.get(VISITS)
    assert response.json()["count"] >= 22


def test_detail_queries_are_fixed(django_assert_num_queries):
    visit = visit_of(given(), "Day 28")
    client = client_for("clinician")
    # token with user; the visit with its plan's patient and who recorded it
    with django_assert_num_queries(2):
        response = client.get(detail_url(visit))
    assert response.json()["id"] == visit.pk


# --- recording a visit -----------------------------------------------------------------------


def test_clinician_records_a_visit_in_its_window():
    visit = visit_of(given(), "Day 28")
    response = client_for("clinician").post(
        action_url(visit, "record"), {"performed_on": today().isoformat()}, format="json"
    )
    data = response.json()
    assert (response.status_code, data["status"], data["in_window"], data["recorded_by"]) == (
        200,
        "completed",
        True,
        "clinician",
    )


def test_clinician_records_a_visit_by_session():
    visit = visit_of(given(), "Day 28")
    response = session_for("clinician").post(
        action_url(visit, "record"), {"performed_on": today().isoformat()}, format="json"
    )
    assert (response.status_code, fresh(visit).status) == (200, "completed")


def test_a_visit_outside_its_window_is_recorded_with_the_reason():
    visit = visit_of(given(), "Day 7")
    body = {"performed_on": today().isoformat(), "out_of_window_reason": "Admitted elsewhere until now."}
    data = client_for("clinician").post(action_url(visit, "record"), body, format="json").json()
    assert (data["status"], data["in_window"], data["out_of_window_reason"]) == (
        "completed",
        False,
        "Admitted elsewhere until now.",
    )


def test_a_visit_outside_its_window_without_a_reason_is_400_and_nothing_changes():
    visit = visit_of(given(), "Day 7")
    response = client_for("clinician").post(
        action_url(visit, "record"), {"performed_on": today().isoformat()}, format="json"
    )
    assert response.status_code == 400 and list(response.json()) == ["out_of_window_reason"]
    assert response.json()["out_of_window_reason"][0].endswith("is outside the visit's window "
                                                             f"({visit.window_opens_on:%d %B} to "
                                                             f"{visit.window_closes_on:%d %B %Y}): say why.")  # fmt: skip
    assert fresh(visit).status == "scheduled"


def test_a_visit_before_the_administration_is_400_and_nothing_changes():
    plan = given()
    visit = visit_of(plan, "Day 7")
    body = {"performed_on": (plan.starts_on - timedelta(days=1)).isoformat(), "out_of_window_reason": "x"}
    response = client_for("clinician").post(action_url(visit, "record"), body, format="json")
    assert (response.status_code, response.json()) == (
        400,
        {
            "performed_on": [
                f"A follow-up visit cannot be before the administration on {plan.starts_on:%d %B %Y}."
            ]
        },
    )
    assert fresh(visit).status == "scheduled"


def test_a_visit_in_the_future_is_400_and_nothing_changes():
    visit = visit_of(given(), "Day 28")
    body = {"performed_on": (today() + timedelta(days=1)).isoformat()}
    response = client_for("clinician").post(action_url(visit, "record"), body, format="json")
    assert (response.status_code, response.json()) == (
        400,
        {"performed_on": ["A visit cannot be recorded for a date in the future."]},
    )
    assert fresh(visit).status == "scheduled"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Give the date the visit took place."),
        ({"performed_on": None}, "Give the date the visit took place."),
        ({"performed_on": "yesterday"}, "Write the date the visit took place as YYYY-MM-DD."),
    ],
    ids=["missing", "null", "not-a-date"],
)
def test_a_record_without_a_date_is_400_saying_what_to_give(body, message):
    visit = visit_of(given(), "Day 28")
    response = client_for("clinician").post(action_url(visit, "record"), body, format="json")
    assert (response.status_code, response.json()) == (400, {"performed_on": [message]})


def test_a_completed_visit_cannot_be_recorded_again():
    visit = visit_of(given(), "Day 28")
    client = client_for("clinician")
    client.post(action_url(visit, "record"), {"performed_on": today().isoformat()}, format="json")
    body = {"performed_on": (today() - timedelta(days=1)).isoformat()}
    response = client.post(action_url(visit, "record"), body, format="json")
    assert (response.status_code, response.json()) == (
        400,
        {"non_field_errors": ["This visit is already completed."]},
    )
    assert fresh(visit).performed_on == today()


def test_misspelt_field_is_named_not_dropped():
    visit = visit_of(given(), "Day 28")
    body = {"performed_on": today().isoformat(), "notes": "Well."}
    response = client_for("clinician").post(action_url(visit, "record"), body, format="json")
    assert response.json() == {"notes": ["This is not a field you can write here."]}


# --- missing a visit -------------------------------------------------------------------------


def test_clinician_records_a_visit_as_missed_with_a_note():
    visit = visit_of(given(), "Day 7")
    response = client_for("clinician").post(
        action_url(visit, "missed"), {"note": "Did not answer the phone."}, format="json"
    )
    data = response.json()
    assert (response.status_code, data["status"], data["note"], data["recorded_by"]) == (
        200,
        "missed",
        "Did not answer the phone.",
        "clinician",
    )


def test_a_visit_whose_window_has_not_opened_cannot_be_missed():
    visit = visit_of(given(), "Month 3")
    response = client_for("clinician").post(action_url(visit, "missed"), {}, format="json")
    assert (response.status_code, response.json()) == (
        400,
        {
            "non_field_errors": [
                "A visit whose window has not opened yet cannot be missed; reschedule it instead."
            ]
        },
    )
    assert fresh(visit).status == "scheduled"


def test_a_missed_visit_that_took_place_after_all_is_recorded():
    visit = visit_of(given(), "Day 14")
    client = client_for("clinician")
    client.post(action_url(visit, "missed"), {}, format="json")
    body = {"performed_on": today().isoformat(), "out_of_window_reason": "Came in late."}
    assert client.post(action_url(visit, "record"), body, format="json").json()["status"] == "completed"


# --- rescheduling a visit --------------------------------------------------------------------


def test_clinician_reschedules_a_visit_keeping_its_window():
    visit = visit_of(given(), "Month 3")
    new_date = visit.due_on + timedelta(days=20)
    body = {"due_on": new_date.isoformat(), "reason": "The patient is abroad."}
    data = client_for("clinician").post(action_url(visit, "reschedule"), body, format="json").json()
    assert (data["due_on"], data["originally_due_on"], data["window_closes_on"]) == (
        new_date.isoformat(),
        visit.due_on.isoformat(),
        visit.window_closes_on.isoformat(),
    )


@pytest.mark.parametrize("reason", [None, "", "   "], ids=["missing", "blank", "spaces"])
def test_a_reschedule_without_a_reason_is_400_and_nothing_changes(reason):
    visit = visit_of(given(), "Month 3")
    body = {"due_on": (visit.due_on + timedelta(days=7)).isoformat()}
    if reason is not None:
        body["reason"] = reason
    response = client_for("clinician").post(action_url(visit, "reschedule"), body, format="json")
    assert (response.status_code, response.json()) == (400, {"reason": ["Say why the visit is rescheduled."]})
    assert (fresh(visit).due_on, fresh(visit).originally_due_on) == (visit.due_on, None)


def test_a_visit_rescheduled_to_the_past_is_400_and_nothing_changes():
    visit = visit_of(given(), "Day 14")
    body = {"due_on": (today() - timedelta(days=1)).isoformat(), "reason": "Typo."}
    response = client_for("clinician").post(action_url(visit, "reschedule"), body, format="json")
    assert (response.status_code, response.json()) == (
        400,
        {"due_on": ["A visit cannot be rescheduled to a past date; record it instead."]},
    )
    assert fresh(visit).due_on == visit.due_on


def test_a_reschedule_without_a_date_is_400():
    visit = visit_of(given(), "Month 3")
    response = client_for("clinician").post(
        action_url(visit, "reschedule"), {"reason": "Abroad."}, format="json"
    )
    assert response.json() == {"due_on": ["Give the new date of the visit."]}


# --- who may change a visit ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "name", "body"),
    [
        ("pharmacist", "record", {"performed_on": "TODAY"}),  # sees the visit, records nothing
        ("pharmacist", "missed", {}),
        ("pharmacist", "reschedule", {"due_on": "IN_A_WEEK", "reason": "Abroad."}),
        ("pharmacist", "record", {}),  # refused before the body is read
        ("reviewer", "record", {"performed_on": "TODAY"}),  # the authority sees the visit
        ("decider", "reschedule", {"due_on": "IN_A_WEEK", "reason": "Abroad."}),
        ("patient", "record", {"performed_on": "TODAY"}),  # their own visit
        ("patient", "missed", {}),
        ("clinician_2", "record", {"performed_on": "TODAY"}),  # another hospital
        ("clinician_b", "missed", {}),  # another country
        ("analyst", "record", {"performed_on": "TODAY"}),
        ("admin", "missed", {}),
    ],
)
def test_a_change_by_anyone_but_a_clinician_of_the_hospital_is_404_and_changes_nothing(username, name, body):
    visit = visit_of(given(), "Day 28")
    dates = {"TODAY": today().isoformat(), "IN_A_WEEK": (today() + timedelta(days=7)).isoformat()}
    body = {key: dates.get(value, value) for key, value in body.items()}
    response = client_for(username).post(action_url(visit, name), body, format="json")
    after = fresh(visit)
    assert (response.status_code, after.status, after.due_on) == (404, "scheduled", visit.due_on)


def test_the_pharmacist_reads_the_visit_they_may_not_change():
    visit = visit_of(given(), "Day 28")
    assert client_for("pharmacist").get(detail_url(visit)).status_code == 200


def test_actions_are_posted_not_fetched():
    visit = visit_of(given(), "Day 28")
    assert client_for("clinician").get(action_url(visit, "record")).status_code == 405


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_visits_are_not_changed_or_deleted_through_the_detail(method):
    visit = visit_of(given(), "Day 28")
    response = getattr(client_for("clinician"), method)(detail_url(visit), {}, format="json")
    assert (response.status_code, FollowUpVisit.objects.filter(pk=visit.pk).exists()) == (405, True)


def test_visits_are_not_created_through_the_api():
    assert client_for("clinician").post(VISITS, {}, format="json").status_code == 405


# --- the schema ------------------------------------------------------------------------------


def schema() -> dict:
    return APIClient().get("/api/v1/schema/", {"format": "json"}).json()


def test_schema_lists_the_visits_paths():
    paths = set(schema()["paths"])
    assert {
        "/api/v1/visits/",
        "/api/v1/visits/{id}/",
        "/api/v1/visits/{id}/record/",
        "/api/v1/visits/{id}/missed/",
        "/api/v1/visits/{id}/reschedule/",
    } <= paths


@pytest.mark.parametrize(
    ("name", "body"),
    [("record", "VisitRecordBody"), ("missed", "VisitMissedBody"), ("reschedule", "VisitRescheduleBody")],
)
def test_schema_documents_each_actions_body(name, body):
    operation = schema()["paths"][f"/api/v1/visits/{{id}}/{name}/"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{body}"
    }


def test_schema_documents_the_list_filters():
    parameters = {p["name"] for p in schema()["paths"]["/api/v1/visits/"]["get"]["parameters"]}
    assert {"status", "due_before", "due_after", "overdue", "page"} <= parameters


def test_schema_is_drawn_without_warnings():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator().get_schema(request=None, public=True)
    # As `manage.py spectacular --fail-on-warn` counts them: any warning or error at all fails.
    assert not GENERATOR_STATS, sorted({*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache})
