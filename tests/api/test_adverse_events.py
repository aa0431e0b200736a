"""`/api/v1/adverse-events/` (SPEC §2, §7): who sees which adverse event, the list and its filters,
and recording one, with the grading of CRS and ICANS, the expedited report of a serious adverse
reaction, and the refusals as a client meets them.

Each test gives the product to a new patient of the first Dutch hospital, 10 days ago, so that an
onset after the administration and not in the future has room. The demo's own plans carry no
adverse events; the tests compare only the events of their own plan."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from atmp_clinic.accounts.demo import DEMO_USERS, DemoUser
from atmp_clinic.accounts.models import Organisation, Role
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.registry import services
from atmp_clinic.registry.grading import CrsCriteria, grade_crs
from atmp_clinic.registry.models import AdverseEvent
from tests.api.conftest import client_for, session_for
from tests.exemptions.conftest import user
from tests.followup.conftest import enrolled_patient, plan_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo")]

EVENTS = "/api/v1/adverse-events/"
DAY_0_DAYS_AGO = 10
NO_SUCH_PLAN = "Choose a follow-up plan of your hospital's patients: there is none with this id."


def today() -> date:
    return timezone.localdate()


def days_ago(days: int) -> str:
    return (today() - timedelta(days=days)).isoformat()


def detail_url(event: AdverseEvent | int) -> str:
    return f"{EVENTS}{getattr(event, 'pk', event)}/"


def given() -> FollowUpPlan:
    """The plan of a new patient of the first Dutch hospital, given the demo CAR-T 10 days ago. Once
    per test: the chain's donation identifier is the same every time."""
    with time_machine.travel(timezone.now() - timedelta(days=DAY_0_DAYS_AGO)):
        return plan_for(enrolled_patient())


def recorded(plan: FollowUpPlan, **fields) -> AdverseEvent:
    """An event of the plan as the clinician records it through the service: grade 2 pyrexia unless told."""
    fields = {
        "term": "Pyrexia",
        "onset_on": today() - timedelta(days=3),
        "relatedness": "possible",
        "outcome": "recovering",
        "grade": 2,
    } | fields
    return services.adverse_event_record(actor=user("clinician"), plan=plan, **fields)


def body(plan: FollowUpPlan, /, **fields) -> dict:
    """A POST body for a general event of the plan; a field given as None is left out."""
    full = {
        "plan": plan.pk,
        "term": "Pyrexia",
        "onset_on": days_ago(3),
        "grade": 2,
        "relatedness": "possible",
        "outcome": "recovering",
    } | fields
    return {name: value for name, value in full.items() if value is not None}


def crs_body(plan: FollowUpPlan, crs: dict, **fields) -> dict:
    return body(
        plan, **{"kind": "crs", "term": "Cytokine release syndrome", "grade": None, "crs": crs} | fields
    )


def post(body: dict, who: str = "clinician"):
    return client_for(who).post(EVENTS, body, format="json")


def listed(who: str, query: dict | None = None, client: APIClient | None = None) -> list[dict]:
    """Every page of the list, in order."""
    client = client or client_for(who)
    response = client.get(EVENTS, query or {})
    items = []
    while True:
        data = response.json()
        items.extend(data["results"])
        if not data["next"]:
            return items
        response = client.get(data["next"])


def listed_ids(who: str, plan: FollowUpPlan, query: dict | None = None) -> list[int]:
    """What `who` lists of this plan's events, in the list's order (nothing else is compared)."""
    return [item["id"] for item in listed(who, query) if item["plan"] == plan.pk]


def sees_events_of_first_dutch_hospital(demo_user: DemoUser) -> bool:
    """The hospital's staff and the Dutch authority's reviewers; patients never see the records."""
    if demo_user.country != "NL":
        return False
    if demo_user.role == Role.REVIEWER:
        return True
    return demo_user.hospital_index == 0 and demo_user.role in (Role.PHARMACIST, Role.CLINICIAN)


def set_deadlines(*, days: int, fatal_days: int) -> None:
    """The rules of the authority the first Dutch hospital's requests go to."""
    Organisation.objects.filter(kind=Organisation.Kind.AUTHORITY, country="NL").update(
        expedited_report_deadline=timedelta(days=days),
        expedited_report_deadline_fatal=timedelta(days=fatal_days),
    )


# --- who sees which event --------------------------------------------------------------------


@pytest.mark.parametrize("demo_user", DEMO_USERS, ids=lambda demo_user: demo_user.username)
def test_every_demo_user_lists_the_events_of_their_organisations_patients_or_none(demo_user):
    plan = given()
    event = recorded(plan)
    expected = [event.pk] if sees_events_of_first_dutch_hospital(demo_user) else []
    assert listed_ids(demo_user.username, plan) == expected


@pytest.mark.parametrize("demo_user", DEMO_USERS, ids=lambda demo_user: demo_user.username)
def test_every_demo_user_opens_an_event_they_may_see_and_gets_404_for_the_others(demo_user):
    event = recorded(given())
    response = client_for(demo_user.username).get(detail_url(event))
    assert response.status_code == (200 if sees_events_of_first_dutch_hospital(demo_user) else 404)


@pytest.mark.parametrize(
    "username", ["clinician_2", "pharmacist_b", "decider_b", "patient", "analyst", "admin"]
)
def test_event_of_another_hospital_country_a_patient_or_the_analyst_reveals_nothing(username):
    plan = given()
    event = recorded(plan)
    response = client_for(username).get(detail_url(event))
    assert response.status_code == 404 and plan.patient.pseudonym not in response.content.decode()
    assert plan.patient.pseudonym not in client_for(username).get(EVENTS).content.decode()


def test_unknown_event_is_404():
    assert client_for("clinician").get(f"{EVENTS}999999/").status_code == 404


def test_unauthenticated_caller_gets_401_and_no_data():
    recorded(given())
    response = APIClient().get(EVENTS)
    assert response.status_code == 401 and "results" not in response.json()


def test_session_authenticates():
    plan = given()
    event = recorded(plan)
    items = listed("clinician", client=session_for("clinician"))
    assert [item["id"] for item in items if item["plan"] == plan.pk] == [event.pk]


# --- the list and the detail -----------------------------------------------------------------


def test_list_item_shows_the_event_by_pseudonym():
    plan = given()
    event = recorded(plan, resolved_on=today() - timedelta(days=1), special_interest=["neurological"])
    [item] = [item for item in listed("pharmacist") if item["id"] == event.pk]
    assert item == {
        "id": event.pk,
        "url": f"http://testserver{detail_url(event)}",
        "plan": plan.pk,
        "patient": plan.patient.pseudonym,
        "visit": None,
        "kind": "general",
        "term": "Pyrexia",
        "onset_on": days_ago(3),
        "resolved_on": days_ago(1),
        "grade": 2,
        "grading_criteria": {},
        "grading_reasons": [],
        "serious": False,
        "seriousness": [],
        "relatedness": "possible",
        "outcome": "recovering",
        "special_interest": ["neurological"],
        "expedited_report": None,
        "recorded_by": "clinician",
        "recorded_at": serializers.DateTimeField().to_representation(event.recorded_at),
    }


def test_detail_is_the_list_item():
    plan = given()
    event = recorded(plan)
    [item] = [item for item in listed("reviewer") if item["id"] == event.pk]
    assert client_for("reviewer").get(detail_url(event)).json() == item


def test_list_is_in_order_of_onset_then_of_recording():
    plan = given()
    later = recorded(plan, onset_on=today() - timedelta(days=1))
    first = recorded(plan, onset_on=today() - timedelta(days=5))
    same_day = recorded(plan, onset_on=today() - timedelta(days=1), term="Headache")
    assert listed_ids("clinician", plan) == [first.pk, later.pk, same_day.pk]


def filtered_plan() -> tuple[FollowUpPlan, dict[str, AdverseEvent]]:
    plan = given()
    return plan, {
        "mild": recorded(plan, grade=1),
        "serious": recorded(
            plan, grade=3, serious=True, seriousness=["hospitalisation"], relatedness="not_related"
        ),
        "crs": recorded(
            plan, kind="crs", term="Cytokine release syndrome", grade=None, crs=CrsCriteria(fever=True)
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"serious": "true"}, ["serious"]),
        ({"serious": "false"}, ["mild", "crs"]),
        ({"kind": "crs"}, ["crs"]),
        ({"grade_min": "3"}, ["serious"]),
        ({"grade_min": "1"}, ["mild", "serious", "crs"]),
        ({"grade_min": "2", "serious": "false"}, []),
    ],
    ids=["serious", "not-serious", "kind", "grade-min-3", "grade-min-1", "combined"],
)
def test_list_filters(query, expected):
    plan, events = filtered_plan()
    assert set(listed_ids("clinician", plan, query)) == {events[name].pk for name in expected}


@pytest.mark.parametrize("value", ["0", "6", "high", "2.5"])
def test_grade_min_that_is_not_a_grade_is_400(value):
    response = client_for("clinician").get(EVENTS, {"grade_min": value})
    assert (response.status_code, response.json()) == (
        400,
        {"grade_min": ["Give grade_min as a whole number from 1 to 5."]},
    )


def test_unknown_kind_is_400_naming_the_kinds():
    response = client_for("clinician").get(EVENTS, {"kind": "cytokine"})
    assert (response.status_code, response.json()) == (
        400,
        {"kind": ['"cytokine" is not a kind of adverse event: use one of general, crs, icans.']},
    )


def test_serious_that_is_not_true_or_false_is_400():
    response = client_for("clinician").get(EVENTS, {"serious": "perhaps"})
    assert (response.status_code, response.json()) == (
        400,
        {"serious": ["Write serious=true or serious=false."]},
    )


def three_events_one_with_its_report() -> None:
    plan = given()
    recorded(plan)
    recorded(plan, kind="crs", term="Cytokine release syndrome", grade=None, crs=CrsCriteria(fever=True))
    recorded(plan, grade=3, serious=True, seriousness=["hospitalisation"], relatedness="probable")


@pytest.mark.parametrize("username", ["clinician", "reviewer"])
def test_list_queries_do_not_grow_with_events(username, django_assert_num_queries):
    three_events_one_with_its_report()
    client = client_for(username)
    # token with user, the caller's membership (which reports they see), count, the events with their
    # patient and who recorded them, their expedited reports
    with django_assert_num_queries(5):
        response = client.get(EVENTS, {"grade_min": "1"})
    assert response.json()["count"] == 3


def test_detail_queries_are_fixed(django_assert_num_queries):
    plan = given()
    event = recorded(plan, grade=3, serious=True, seriousness=["hospitalisation"], relatedness="probable")
    client = client_for("clinician")
    # token with user, the caller's membership, the event with its patient and recorder, its report
    with django_assert_num_queries(4):
        response = client.get(detail_url(event))
    assert response.json()["expedited_report"]["id"] == event.expedited_report.pk


# --- recording an event ----------------------------------------------------------------------


def test_clinician_records_an_adverse_event():
    plan = given()
    response = post(body(plan))
    event = AdverseEvent.objects.get(plan=plan)
    assert (response.status_code, response.json()["id"], response.json()["recorded_by"]) == (
        201,
        event.pk,
        "clinician",
    )


def test_clinician_records_an_adverse_event_by_session():
    plan = given()
    response = session_for("clinician").post(EVENTS, body(plan), format="json")
    assert (response.status_code, AdverseEvent.objects.filter(plan=plan).count()) == (201, 1)


def test_an_event_is_recorded_at_a_visit_of_its_plan():
    plan = given()
    visit = plan.visits.order_by("due_on").first()
    response = post(body(plan, visit=visit.pk))
    assert (response.status_code, response.json()["visit"]) == (201, visit.pk)


def test_a_visit_of_another_plan_is_400_and_nothing_is_recorded():
    plan = given()
    other = (
        FollowUpVisit.objects.filter(plan__patient__hospital=plan.patient.hospital).exclude(plan=plan).first()
    )
    response = post(body(plan, visit=other.pk))
    assert (response.status_code, response.json()) == (
        400,
        {"visit": ["That visit belongs to another patient's plan."]},
    )
    assert not AdverseEvent.objects.filter(plan=plan).exists()


def test_a_non_serious_event_has_no_expedited_report():
    response = post(body(given(), relatedness="definite"))
    assert response.json()["expedited_report"] is None


def test_a_serious_event_not_related_to_the_product_has_no_expedited_report():
    response = post(body(given(), serious=True, seriousness=["hospitalisation"], relatedness="unlikely"))
    assert (response.status_code, response.json()["expedited_report"]) == (201, None)


def test_a_serious_related_event_carries_its_expedited_report_due_in_15_days_by_default():
    set_deadlines(days=15, fatal_days=7)
    plan = given()
    response = post(
        body(plan, grade=3, serious=True, seriousness=["hospitalisation"], relatedness="probable")
    )
    report = AdverseEvent.objects.get(plan=plan).expedited_report
    assert (response.status_code, response.json()["expedited_report"]) == (
        201,
        {
            "id": report.pk,
            "due_on": (today() + timedelta(days=15)).isoformat(),
            "status": "open",
            "overdue": False,
        },
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"grade": 4, "seriousness": ["life_threatening", "hospitalisation"]},
        {"grade": 5, "seriousness": ["death"], "outcome": "fatal"},
    ],
    ids=["life-threatening", "fatal"],
)
def test_a_fatal_or_life_threatening_reaction_is_due_in_7_days(fields):
    set_deadlines(days=15, fatal_days=7)
    response = post(body(given(), serious=True, relatedness="possible", **fields))
    assert response.json()["expedited_report"]["due_on"] == (today() + timedelta(days=7)).isoformat()


def test_the_dutch_authority_wants_its_report_within_48_hours():
    # The demo's Dutch authority keeps its own rule (SPEC §2): 48 hours, fatal or not.
    response = post(
        body(given(), grade=3, serious=True, seriousness=["hospitalisation"], relatedness="definite")
    )
    assert response.json()["expedited_report"]["due_on"] == (today() + timedelta(days=2)).isoformat()


def test_the_authority_sees_the_report_only_once_the_hospital_submitted_it():
    plan = given()
    event = recorded(plan, grade=3, serious=True, seriousness=["hospitalisation"], relatedness="probable")
    before = client_for("reviewer").get(detail_url(event)).json()["expedited_report"]
    services.expedited_report_submit(
        actor=user("clinician"), report=event.expedited_report, narrative="Admitted with grade 3 pyrexia."
    )
    after = client_for("reviewer").get(detail_url(event)).json()["expedited_report"]
    assert (before, after["status"]) == (None, "submitted")


# --- CRS and ICANS: graded from the ASTCT criteria -------------------------------------------


def test_a_crs_events_grade_and_reasons_are_computed_from_the_criteria():
    criteria = {"fever": True, "hypotension": True, "vasopressors": "one", "oxygen": "low_flow_nasal_cannula"}
    response = post(crs_body(given(), criteria))
    data = response.json()
    assert (response.status_code, data["grade"], data["grading_reasons"], data["grading_criteria"]) == (
        201,
        3,
        grade_crs(CrsCriteria(**criteria)).reasons,
        {"fever_masked_by_treatment": False, **criteria},
    )


def test_crs_reasons_say_how_the_grade_was_reached():
    response = post(crs_body(given(), {"fever": True, "oxygen": "facemask"}))
    assert response.json()["grading_reasons"] == [
        "Fever ≥ 38.0 °C attributable to CRS: grade 1 at least.",
        "Hypoxia needing facemask: grade 3.",
        "Grade is that of the hypoxia: grade 3.",
    ]


def test_a_fatal_crs_is_grade_5():
    body = crs_body(given(), {"fever": True}, outcome="fatal", serious=True, seriousness=["death"])
    data = post(body).json()
    assert (data["grade"], data["grading_reasons"][-1]) == (5, "Fatal outcome: grade 5.")


def test_an_icans_events_grade_is_computed_from_the_criteria():
    body_ = body(given(), kind="icans", term="ICANS", grade=None, icans={"ice_score": 5})
    data = post(body_).json()
    assert (data["kind"], data["grade"], data["grading_reasons"][-1]) == (
        "icans",
        2,
        "ICANS grade is that of the most severe domain: grade 2.",
    )


# --- bad input -------------------------------------------------------------------------------


def refused(body: dict, plan: FollowUpPlan) -> tuple[int, dict]:
    response = post(body)
    assert not AdverseEvent.objects.filter(plan=plan).exists()
    return response.status_code, response.json()


def test_grade_5_with_a_recovered_outcome_is_400_on_the_outcome():
    plan = given()
    assert refused(body(plan, grade=5, outcome="recovered"), plan) == (
        400,
        {"outcome": ["Grade 5 is death related to the event: the outcome must be fatal."]},
    )


def test_an_onset_before_the_administration_is_400_on_the_onset():
    plan = given()
    onset = plan.starts_on - timedelta(days=1)
    assert refused(body(plan, onset_on=onset.isoformat()), plan) == (
        400,
        {"onset_on": [f"The onset cannot be before the administration on {plan.starts_on:%d %B %Y}."]},
    )


def test_an_onset_in_the_future_is_400_on_the_onset():
    plan = given()
    assert refused(body(plan, onset_on=days_ago(-1)), plan) == (
        400,
        {"onset_on": ["The onset cannot be in the future."]},
    )


def test_a_resolution_before_the_onset_is_400_on_the_resolution():
    plan = given()
    assert refused(body(plan, onset_on=days_ago(2), resolved_on=days_ago(3)), plan) == (
        400,
        {"resolved_on": ["An event cannot resolve before its onset."]},
    )


def test_crs_criteria_without_fever_are_400_on_the_criteria():
    plan = given()
    status_code, errors = refused(crs_body(plan, {"fever": False, "hypotension": True}), plan)
    assert (status_code, list(errors)) == (400, ["crs"])
    assert errors["crs"][0].startswith("No fever ≥ 38.0 °C and no fever masked by antipyretic")


def test_vasopressors_without_hypotension_are_400_on_the_criteria():
    plan = given()
    assert refused(crs_body(plan, {"fever": True, "vasopressors": "one"}), plan) == (
        400,
        {
            "crs": [
                "Vasopressors are recorded without hypotension: record the hypotension, or no vasopressors."
            ]
        },
    )


def test_an_unarousable_patient_with_ice_points_is_400_on_the_criteria():
    plan = given()
    icans = {"ice_score": 4, "consciousness": "unarousable_or_needs_vigorous_stimuli"}
    assert refused(body(plan, kind="icans", term="ICANS", grade=None, icans=icans), plan) == (
        400,
        {"icans": ["An unarousable patient cannot score ICE points: record 0 or leave the ICE score out."]},
    )


def test_crs_criteria_without_the_fever_answer_are_400_saying_what_to_answer():
    plan = given()
    assert refused(crs_body(plan, {"hypotension": True}), plan) == (
        400,
        {"crs": {"fever": ["Say whether the patient had a fever of 38.0 °C or more (true or false)."]}},
    )


def test_an_unknown_criterion_is_named():
    plan = given()
    assert refused(crs_body(plan, {"fever": True, "vasopresors": "one"}), plan) == (
        400,
        {"crs": {"vasopresors": ["This is not a field you can write here."]}},
    )


def test_a_crs_event_without_its_criteria_is_400():
    plan = given()
    assert refused(body(plan, kind="crs", grade=None), plan) == (
        400,
        {"crs": ["Answer the ASTCT criteria: the grade is computed from them."]},
    )


def test_a_grade_given_for_crs_is_refused_not_ignored():
    plan = given()
    assert refused(crs_body(plan, {"fever": True}, grade=2), plan) == (
        400,
        {"grade": ["The grade of CRS is computed from the ASTCT criteria: leave it out and answer `crs`."]},
    )


def test_criteria_for_another_kind_are_refused():
    plan = given()
    assert refused(body(plan, crs={"fever": True}), plan) == (
        400,
        {"crs": ["The CRS criteria go with an event of kind crs only."]},
    )


def test_a_general_event_without_a_grade_is_400():
    plan = given()
    assert refused(body(plan, grade=None), plan) == (400, {"grade": ["The CTCAE grade is 1 to 5."]})


UNKNOWN_SERIOUSNESS = (
    '"expensive" is not a seriousness criterion: use one of death, life_threatening, hospitalisation, '
    "disability, congenital_anomaly, medically_important."
)
UNKNOWN_RELATEDNESS = (
    '"maybe" is not a relatedness: use one of not_related, unlikely, possible, probable, definite.'
)


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"serious": True}, {"seriousness": ["Say which seriousness criteria the event meets."]}),
        (
            {"seriousness": ["hospitalisation"]},
            {"serious": ["An event that meets seriousness criteria is serious."]},
        ),
        (
            {"grade": 5, "outcome": "fatal", "serious": True, "seriousness": ["hospitalisation"]},
            {"seriousness": ["A fatal event is serious: it results in death."]},
        ),
        (
            {"seriousness": ["expensive"]},
            {"seriousness": {"0": [UNKNOWN_SERIOUSNESS]}},
        ),
    ],
    ids=["serious-without-criteria", "criteria-without-serious", "fatal-without-death", "unknown-criterion"],
)
def test_seriousness_that_does_not_add_up_is_400(fields, errors):
    plan = given()
    assert refused(body(plan, **fields), plan) == (400, errors)


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"term": "  "}, {"term": ["Name the event, e.g. with its MedDRA preferred term."]}),
        ({"onset_on": None}, {"onset_on": ["Give the date of onset."]}),
        ({"onset_on": "last week"}, {"onset_on": ["Write the date of onset as YYYY-MM-DD."]}),
        ({"relatedness": "maybe"}, {"relatedness": [UNKNOWN_RELATEDNESS]}),
        ({"severity": 2}, {"severity": ["This is not a field you can write here."]}),
    ],
    ids=["blank-term", "no-onset", "not-a-date", "unknown-relatedness", "misspelt-field"],
)
def test_a_field_that_says_nothing_usable_is_400_by_field(fields, errors):
    plan = given()
    assert refused(body(plan, **fields), plan) == (400, errors)


# --- who may record an event -----------------------------------------------------------------


@pytest.mark.parametrize(
    "username",
    ["pharmacist", "reviewer", "decider", "patient", "pharmacist_2", "pharmacist_b", "analyst", "admin"],
)
def test_recording_by_anyone_but_a_clinician_is_404_and_records_nothing(username):
    plan = given()
    response = post(body(plan), who=username)
    assert (response.status_code, AdverseEvent.objects.filter(plan=plan).exists()) == (404, False)


def test_a_pharmacist_is_refused_before_the_body_is_read():
    assert post({}, who="pharmacist").status_code == 404


@pytest.mark.parametrize("username", ["clinician_2", "clinician_b"])
def test_a_clinician_of_another_hospital_cannot_tell_the_plan_exists_and_records_nothing(username):
    plan = given()
    theirs, unknown = post(body(plan), who=username), post(body(plan, plan=999999), who=username)
    assert (
        (theirs.status_code, theirs.json())
        == (unknown.status_code, unknown.json())
        == (
            400,
            {"plan": [NO_SUCH_PLAN]},
        )
    )
    assert not AdverseEvent.objects.filter(plan=plan).exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_events_are_not_changed_or_deleted_through_the_detail(method):
    event = recorded(given())
    response = getattr(client_for("clinician"), method)(detail_url(event), {}, format="json")
    assert (response.status_code, AdverseEvent.objects.filter(pk=event.pk).exists()) == (405, True)


# --- the schema ------------------------------------------------------------------------------


def schema() -> dict:
    return APIClient().get("/api/v1/schema/", {"format": "json"}).json()


def test_schema_lists_the_adverse_events_paths():
    assert {"/api/v1/adverse-events/", "/api/v1/adverse-events/{id}/"} <= set(schema()["paths"])


def test_schema_documents_the_body_of_a_new_event():
    operation = schema()["paths"]["/api/v1/adverse-events/"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AdverseEventBody"
    }


def test_schema_documents_the_list_filters():
    parameters = {p["name"] for p in schema()["paths"]["/api/v1/adverse-events/"]["get"]["parameters"]}
    assert {"serious", "kind", "grade_min", "page"} <= parameters
