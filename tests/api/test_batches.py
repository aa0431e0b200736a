"""`/api/v1/batches/` (SPEC §7): who sees which batch, its detail along the chain of identity, a
collection with its batch, and every step of a batch through `steps/{name}/`, with the refusals as
a client meets them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from atmp_clinic.accounts.demo import DEMO_USERS, DemoUser
from atmp_clinic.accounts.models import Role
from atmp_clinic.audit.services import WRONG_PASSWORD
from atmp_clinic.exemptions.models import ExemptionRequest, State
from atmp_clinic.manufacturing import services
from atmp_clinic.manufacturing.api import STEPS
from atmp_clinic.manufacturing.models import Batch, Collection, ReleaseResult
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import ReleaseTest
from tests.api.conftest import client_for, organisation_of, session_for
from tests.conftest import signature_of
from tests.exemptions.conftest import PASSWORD, approved, user
from tests.factories import member
from tests.manufacturing.conftest import collect, make_batch, record_results, released_batch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo")]

BATCHES = "/api/v1/batches/"


def detail_url(batch: Batch) -> str:
    return f"{BATCHES}{batch.pk}/"


def step_url(batch: Batch, name: str) -> str:
    return f"{BATCHES}{batch.pk}/steps/{name}/"


@pytest.fixture(autouse=True)
def _demo_batches(demo):
    """The demo's own batches, left out of what these tests compare: each test makes its own."""
    DEMO_BATCHES.clear()
    DEMO_BATCHES.update(Batch.objects.values_list("pk", flat=True))


DEMO_BATCHES: set[int] = set()


def listed_ids(who: str, query: dict | None = None) -> set[int]:
    listed = {item["id"] for item in client_for(who).get(BATCHES, query or {}).json()["results"]}
    return listed - DEMO_BATCHES


def status_of(batch: Batch) -> str:
    return Batch.objects.get(pk=batch.pk).status


def test_of(batch: Batch, kind: str) -> ReleaseTest:
    return batch.request.product.release_tests.get(kind=kind)


test_of.__test__ = False  # a helper, not a test


def batches_under(request: ExemptionRequest, count: int) -> list[Batch]:
    """Several batches of one request, each from its own collection (a donation number outside ISBT 128
    needs no check character)."""
    return [
        make_batch(
            collect(request, donation_identifier=f"NL000123EU2026000034{index}", check_character=""),
            batch_number=f"CART-2026-10{index}",
        )
        for index in range(count)
    ]


def german_batch() -> Batch:
    """A batch of the second country's first hospital, made by its own staff."""
    request = ExemptionRequest.objects.filter(
        hospital=organisation_of("pharmacist_b"), state=State.APPROVED
    ).first()
    collection = services.collection_record(
        actor=user("clinician_b"), request=request, donation_identifier="DEA7X1TXEU20260000345",
        material="Leukapheresis", collected_at=timezone.now() - timedelta(days=5), collection_site="Apherese",
    )  # fmt: skip
    return services.batch_create(
        actor=user("pharmacist_b"), collection=collection, batch_number="DE-2026-001",
        manufactured_on=timezone.localdate() - timedelta(days=1), expires_on=timezone.localdate() + timedelta(days=20),
    )  # fmt: skip


def sees_batches_of(demo_user: DemoUser) -> str | None:
    """The country whose first hospital's batches the demo user sees: its staff, and its authority."""
    if demo_user.role == Role.REVIEWER:
        return demo_user.country
    if demo_user.role in (Role.PHARMACIST, Role.CLINICIAN) and demo_user.hospital_index == 0:
        return demo_user.country
    return None


def out_of_specification_batch() -> Batch:
    batch = make_batch()
    record_results(batch, viability=Decimal(55))
    return batch


def give_body(batch: Batch, **overrides) -> dict:
    return {
        "administered_at": timezone.now().isoformat(),
        "dose": "1 × 10⁶ CAR+ T cells/kg",
        "patient_code": batch.request.patient.pseudonym,
        "batch_code": batch.batch_number,
        **overrides,
    }


# --- who sees which batch --------------------------------------------------------------------


@pytest.mark.parametrize("demo_user", DEMO_USERS, ids=lambda demo_user: demo_user.username)
def test_every_demo_user_lists_exactly_their_organisations_batches(demo_user):
    by_country = {"NL": make_batch(), "DE": german_batch()}
    country = sees_batches_of(demo_user)
    assert listed_ids(demo_user.username) == ({by_country[country].pk} if country else set())


@pytest.mark.parametrize("demo_user", DEMO_USERS, ids=lambda demo_user: demo_user.username)
def test_every_demo_user_opens_their_organisations_batch_and_gets_404_for_the_others(demo_user):
    by_country = {"NL": make_batch(), "DE": german_batch()}
    client = client_for(demo_user.username)
    codes = {country: client.get(detail_url(batch)).status_code for country, batch in by_country.items()}
    own = sees_batches_of(demo_user)
    assert codes == {country: 200 if country == own else 404 for country in by_country}


def test_batch_of_another_organisation_reveals_nothing():
    batch = make_batch()
    response = client_for("pharmacist_2").get(detail_url(batch))
    assert response.status_code == 404 and batch.batch_number not in response.content.decode()


def test_unknown_batch_is_404():
    assert client_for("pharmacist").get(f"{BATCHES}999999/").status_code == 404


def test_unauthenticated_caller_gets_401_and_no_data():
    make_batch()
    response = APIClient().get(BATCHES)
    assert response.status_code == 401 and "results" not in response.json()


def test_session_authenticates():
    batch = make_batch()
    listed = [item["id"] for item in session_for("decider").get(BATCHES).json()["results"]]
    assert [pk for pk in listed if pk not in DEMO_BATCHES] == [batch.pk]


# --- the list --------------------------------------------------------------------------------


def test_list_item_shows_the_chain_of_identity_by_pseudonym():
    batch = released_batch()
    request, patient = batch.request, batch.request.patient
    [item] = [i for i in client_for("reviewer").get(BATCHES).json()["results"] if i["id"] not in DEMO_BATCHES]
    assert item == {
        "id": batch.pk,
        "batch_number": batch.batch_number,
        "status": {"value": "released", "label": "Released"},
        "request": {"id": request.pk, "reference": request.reference},
        "patient": {"id": patient.pk, "pseudonym": patient.pseudonym},
        "product": {"id": request.product_id, "name": "CD19 CAR-T cells", "atmp_class": "gtmp"},
        "donation_identifier": "NL000123G123498654321",
        "product_code": "",
        "manufactured_on": batch.manufactured_on.isoformat(),
        "expires_on": batch.expires_on.isoformat(),
        "released_at": batch.released_at.isoformat().replace("+00:00", "Z"),
        "released_by": "Sanne de Vries",
        "out_of_specification": False,
    }


def test_list_never_shows_the_patients_identity():
    batch = make_batch()
    response = client_for("clinician").get(BATCHES)
    identity = Patient.objects.get(pk=batch.request.patient_id).identity
    assert batch.pk in {item["id"] for item in response.json()["results"]}
    assert identity.family_name not in response.content.decode()


def test_list_says_when_a_result_is_out_of_specification():
    failed = out_of_specification_batch()
    passing = make_batch(
        collect(failed.request, donation_identifier="NL000123EU20260000999", check_character=""),
        batch_number="CART-2026-002",
    )
    record_results(passing)
    flags = {
        item["id"]: item["out_of_specification"]
        for item in client_for("pharmacist").get(BATCHES).json()["results"]
        if item["id"] not in DEMO_BATCHES
    }
    assert flags == {failed.pk: True, passing.pk: False}


def test_status_filter_lists_only_that_status():
    released = released_batch()
    batches_under(released.request, 2)
    assert listed_ids("pharmacist", {"status": "released"}) == {released.pk}


def test_unknown_status_is_400_naming_the_statuses():
    response = client_for("pharmacist").get(BATCHES, {"status": "quarantined"})
    assert (response.status_code, response.json()) == (
        400,
        {
            "status": [
                '"quarantined" is not a status of a batch: use one of '
                "in_testing, released, exceptionally_released, administered."
            ]
        },
    )


def test_request_filter_lists_only_that_requests_batches():
    first = make_batch()
    others = batches_under(approved(), 2)
    assert listed_ids("pharmacist", {"request": others[0].request_id}) == {b.pk for b in others}
    assert first.pk not in listed_ids("pharmacist", {"request": others[0].request_id})


def test_request_filter_that_is_not_an_id_is_400():
    response = client_for("pharmacist").get(BATCHES, {"request": "HE-NL-1"})
    assert response.json() == {"request": ["Give the id of an exemption request, a whole number."]}


def test_list_queries_do_not_grow_with_batches(django_assert_num_queries):
    request = approved()
    batches = batches_under(request, 5)
    record_results(batches[0], viability=Decimal(55))
    record_results(batches[1])
    services.batch_release(actor=user("pharmacist"), batch=batches[1], **signature_of(user("pharmacist")))
    client = client_for("pharmacist")
    # token with user, count, batches with request, patient, product, collection, releaser and the
    # out-of-specification flag
    with django_assert_num_queries(3):
        response = client.get(BATCHES)
    demo_batches_seen = Batch.objects.filter(pk__in=DEMO_BATCHES, request__hospital=request.hospital).count()
    assert response.json()["count"] == 5 + demo_batches_seen


# --- the detail ------------------------------------------------------------------------------


def test_detail_shows_the_collection():
    data = client_for("clinician").get(detail_url(make_batch())).json()
    assert data["collection"] | {"collected_at": None} == {
        "donation_identifier": "NL000123G123498654321",
        "check_character": "H",
        "material": "Leukapheresis",
        "collected_at": None,
        "collection_site": "Apheresis unit, Amstel UMC",
    }


def test_detail_shows_results_against_the_specification_and_the_missing_tests():
    batch = make_batch()
    services.result_record(
        actor=user("pharmacist"), batch=batch, test=test_of(batch, "viability"), value=Decimal("55.5")
    )
    data = client_for("pharmacist").get(detail_url(batch)).json()
    [result] = data["results"]
    assert (result["test"]["name"], result["test"]["kind"], result["test"]["specification"]) == (
        "Viability (7-AAD flow cytometry)",
        "viability",
        "≥ 70 %",
    )
    assert (result["shown"], result["passed"], result["recorded_by"]) == ("55.5 %", False, "Sanne de Vries")
    assert [test["kind"] for test in data["missing_tests"]] == [
        test.kind for test in batch.request.product.release_tests.exclude(kind="viability")
    ]
    assert data["out_of_specification"] is True


def test_detail_shows_the_release_signature():
    batch = released_batch()
    [signed] = client_for("reviewer").get(detail_url(batch)).json()["signatures"]
    assert (signed["printed_name"], signed["meaning"], len(signed["content_hash"])) == (
        "Sanne de Vries",
        "released",
        64,
    )


def test_detail_has_no_administration_before_one_is_recorded():
    assert client_for("clinician").get(detail_url(released_batch())).json()["administration"] is None


def test_timeline_is_the_batchs_audit_trail_in_order():
    timeline = client_for("decider").get(detail_url(released_batch())).json()["timeline"]
    assert [event["action"] for event in timeline] == ["created", *["result_recorded"] * 7, "released"]
    assert timeline[-1]["actor"] == "Sanne de Vries"


def test_detail_queries_are_fixed(django_assert_num_queries):
    batch = released_batch()
    client = client_for("clinician")
    # token with user; the batch with its chain and administration; results with tests and who recorded
    # them; the specification; the tests with results (missing tests); signatures; audit events; the
    # caller's membership (for the steps open to them)
    with django_assert_num_queries(8):
        response = client.get(detail_url(batch))
    assert len(response.json()["results"]) == 7


# --- every step of a batch through the API ---------------------------------------------------


def test_pharmacist_records_a_measured_result():
    batch = make_batch()
    body = {"test": test_of(batch, "viability").pk, "value": "91.5"}
    response = client_for("pharmacist").post(step_url(batch, "record_result"), body, format="json")
    assert response.status_code == 200
    assert [(r["shown"], r["passed"]) for r in response.json()["results"]] == [("91.5 %", True)]


def test_pharmacist_records_an_observation_by_session():
    batch = make_batch()
    body = {"test": test_of(batch, "sterility").pk, "observation": "No growth"}
    response = session_for("pharmacist").post(step_url(batch, "record_result"), body, format="json")
    assert [(r["shown"], r["passed"]) for r in response.json()["results"]] == [("No growth", True)]


def test_pharmacist_corrects_a_result_with_the_reason():
    batch = make_batch()
    result = services.result_record(
        actor=user("pharmacist"), batch=batch, test=test_of(batch, "viability"), value=Decimal(19)
    )
    body = {"result": result.pk, "value": 91, "reason": "Typed 19 for 91."}
    data = client_for("pharmacist").post(step_url(batch, "correct_result"), body, format="json").json()
    assert (data["results"][0]["shown"], data["results"][0]["passed"]) == ("91 %", True)
    corrected = data["timeline"][-1]
    assert (corrected["action"], corrected["before"]["result"], corrected["reason"]) == (
        "result_corrected",
        "19 %",
        "Typed 19 for 91.",
    )


def test_physician_justifies_an_exceptional_release_by_session():
    batch = out_of_specification_batch()
    body = {"justification": "No other option for this patient.", "password": PASSWORD}
    response = session_for("clinician").post(
        step_url(batch, "justify_exceptional_release"), body, format="json"
    )
    data = response.json()
    assert (response.status_code, data["exceptional_release_justification"]) == (
        200,
        "No other option for this patient.",
    )
    assert [s["meaning"] for s in data["signatures"]] == ["exceptional_release"]


def test_qualified_person_releases_a_batch():
    batch = make_batch()
    record_results(batch)
    response = client_for("pharmacist").post(
        step_url(batch, "release"), {"password": PASSWORD}, format="json"
    )
    data = response.json()
    assert (response.status_code, data["status"]["value"], data["released_by"]) == (
        200,
        "released",
        "Sanne de Vries",
    )


def test_justified_out_of_specification_batch_is_released_exceptionally():
    batch = out_of_specification_batch()
    client_for("clinician").post(
        step_url(batch, "justify_exceptional_release"),
        {"justification": "No other option.", "password": PASSWORD},
        format="json",
    )
    response = client_for("pharmacist").post(
        step_url(batch, "release"), {"password": PASSWORD}, format="json"
    )
    assert response.json()["status"] == {
        "value": "exceptionally_released",
        "label": "Released exceptionally (out of specification)",
    }


def test_clinician_records_the_administration():
    batch = released_batch()
    response = client_for("clinician").post(step_url(batch, "administer"), give_body(batch), format="json")
    data = response.json()
    assert (response.status_code, data["status"]["value"]) == (200, "administered")
    assert (data["administration"]["dose"], data["administration"]["administered_by"]) == (
        "1 × 10⁶ CAR+ T cells/kg",
        "Pieter Jansen",
    )


# --- refusals --------------------------------------------------------------------------------


def test_out_of_specification_release_is_400_naming_the_test():
    batch = out_of_specification_batch()
    response = client_for("pharmacist").post(
        step_url(batch, "release"), {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 400 and list(response.json()) == ["detail"]
    assert response.json()["detail"].startswith(
        "Out of specification: Viability (7-AAD flow cytometry) (55 %)."
    )
    assert status_of(batch) == "in_testing"


def test_release_with_results_missing_is_400_naming_them():
    batch = make_batch()
    response = client_for("pharmacist").post(
        step_url(batch, "release"), {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 400 and response.json()["detail"].startswith("Results are missing for: ")


@pytest.mark.parametrize(
    "mismatch",
    [{"patient_code": "P-0000-0000"}, {"batch_code": "CART-2026-999"}],
    ids=["patient", "batch"],
)
def test_bedside_code_mismatch_is_400_and_nothing_is_given(mismatch):
    batch = released_batch()
    response = client_for("clinician").post(
        step_url(batch, "administer"), give_body(batch, **mismatch), format="json"
    )
    assert response.status_code == 400 and response.json()["detail"].startswith("Chain of identity:")
    assert status_of(batch) == "released"


def test_viability_over_100_percent_is_400_on_value():
    batch = make_batch()
    body = {"test": test_of(batch, "viability").pk, "value": 101}
    response = client_for("pharmacist").post(step_url(batch, "record_result"), body, format="json")
    assert (response.status_code, response.json()) == (400, {"value": ["A percentage cannot be over 100."]})


def test_a_second_result_for_the_same_test_is_400_saying_to_correct_it():
    batch = make_batch()
    body = {"test": test_of(batch, "viability").pk, "value": 90}
    client_for("pharmacist").post(step_url(batch, "record_result"), body, format="json")
    response = client_for("pharmacist").post(step_url(batch, "record_result"), body, format="json")
    # The model's constraint answers before the service's own check, so the message has no one field.
    assert (response.status_code, list(response.json().values())) == (
        400,
        [["A result for this test is already recorded; correct it instead."]],
    )


def test_a_test_of_another_product_is_400_revealing_nothing():
    other = ReleaseTest.objects.exclude(product__name="CD19 CAR-T cells").first()
    body = {"test": other.pk, "value": 1}
    response = client_for("pharmacist").post(step_url(make_batch(), "record_result"), body, format="json")
    assert response.json() == {
        "test": ["Choose a test of the specification of this batch's product: there is none with this id."]
    }


def test_a_result_of_another_batch_cannot_be_corrected_here():
    first = make_batch()
    result = services.result_record(
        actor=user("pharmacist"), batch=first, test=test_of(first, "viability"), value=Decimal(19)
    )
    [second] = batches_under(first.request, 1)
    body = {"result": result.pk, "value": 91, "reason": "Wrong batch."}
    response = client_for("pharmacist").post(step_url(second, "correct_result"), body, format="json")
    assert response.status_code == 400 and list(response.json()) == ["result"]
    assert ReleaseResult.objects.get(pk=result.pk).value == 19


def test_a_result_without_its_test_is_explained():
    response = client_for("pharmacist").post(
        step_url(make_batch(), "record_result"), {"value": 90}, format="json"
    )
    assert response.json() == {"test": ["Choose the test of the specification this result is for (its id)."]}


def test_a_correction_needs_a_reason():
    batch = make_batch()
    result = services.result_record(
        actor=user("pharmacist"), batch=batch, test=test_of(batch, "viability"), value=Decimal(19)
    )
    body = {"result": result.pk, "value": 91}
    response = client_for("pharmacist").post(step_url(batch, "correct_result"), body, format="json")
    assert response.json() == {"reason": ["Say why the result is corrected."]}


def test_results_of_a_released_batch_are_closed():
    batch = released_batch()
    body = {"test": test_of(batch, "viability").pk, "value": 90}
    response = client_for("pharmacist").post(step_url(batch, "record_result"), body, format="json")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": f"Batch {batch.batch_number} is released: its results are closed."},
    )


def test_wrong_release_password_is_400_on_password_and_nothing_changes():
    batch = make_batch()
    record_results(batch)
    response = client_for("pharmacist").post(step_url(batch, "release"), {"password": "guess"}, format="json")
    assert (response.status_code, response.json(), status_of(batch)) == (
        400,
        {"password": [WRONG_PASSWORD]},
        "in_testing",
    )


def test_misspelt_field_is_named_not_dropped():
    batch = released_batch()
    response = client_for("clinician").post(
        step_url(batch, "administer"), give_body(batch, dosis="2 bags"), format="json"
    )
    assert response.json() == {"dosis": ["This is not a field you can write here."]}


@pytest.mark.parametrize(
    ("username", "name", "body"),
    [
        ("clinician", "record_result", {}),
        ("pharmacist_2", "record_result", {}),  # another hospital that cannot see the batch
        ("reviewer", "correct_result", {}),  # the authority sees the batch but records nothing
        ("pharmacist", "justify_exceptional_release", {"justification": "x", "password": PASSWORD}),
        ("clinician_2", "justify_exceptional_release", {"justification": "x", "password": PASSWORD}),
        ("clinician", "release", {"password": PASSWORD}),
        ("decider", "release", {"password": PASSWORD}),
        ("pharmacist", "administer", {}),
        ("analyst", "administer", {}),
    ],
)
def test_step_by_the_wrong_role_is_404_and_changes_nothing(username, name, body):
    batch = out_of_specification_batch()
    response = client_for(username).post(step_url(batch, name), body, format="json")
    assert (response.status_code, status_of(batch)) == (404, "in_testing")
    assert Batch.objects.get(pk=batch.pk).exceptional_release_justification == ""


def test_a_pharmacist_who_is_not_a_qualified_person_gets_404_on_release():
    plain = member(role=Role.PHARMACIST, organisation=organisation_of("pharmacist"))
    plain.set_password(PASSWORD)
    plain.save()
    batch = make_batch()
    record_results(batch)
    response = client_for(plain).post(step_url(batch, "release"), {"password": PASSWORD}, format="json")
    assert (response.status_code, status_of(batch)) == (404, "in_testing")


@pytest.mark.parametrize("name", ["approve", "destroy", "quarantine"])
def test_unknown_step_is_404(name):
    batch = make_batch()
    assert client_for("pharmacist").post(step_url(batch, name), {}, format="json").status_code == 404


def test_steps_are_posted_not_fetched():
    assert client_for("pharmacist").get(step_url(make_batch(), "release")).status_code == 405


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_batches_are_not_changed_or_deleted_through_the_api(method):
    batch = make_batch()
    response = getattr(client_for("pharmacist"), method)(detail_url(batch), {}, format="json")
    assert (response.status_code, Batch.objects.filter(pk=batch.pk).exists()) == (405, True)


# --- a collection and its batch --------------------------------------------------------------


def new_batch_body(request: ExemptionRequest, **overrides) -> dict:
    return {
        "request": request.pk,
        "donation_identifier": "NL 000123 G123 498 654 321",
        "check_character": "h",
        "material": "Leukapheresis",
        "collected_at": (timezone.now() - timedelta(days=10)).isoformat(),
        "collection_site": "Apheresis unit, Amstel UMC",
        "batch_number": "CART-2026-001",
        "manufactured_on": (timezone.localdate() - timedelta(days=2)).isoformat(),
        "expires_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
        **overrides,
    }


def test_pharmacist_records_a_collection_and_its_batch():
    request = approved()
    response = client_for("pharmacist").post(BATCHES, new_batch_body(request), format="json")
    data = response.json()
    assert (response.status_code, data["status"]["value"], data["donation_identifier"]) == (
        201,
        "in_testing",
        "NL000123G123498654321",
    )
    assert [test["kind"] for test in data["missing_tests"]] == list(
        request.product.release_tests.values_list("kind", flat=True)
    )


@pytest.mark.parametrize("username", ["clinician", "reviewer", "analyst", "patient", "admin"])
def test_only_pharmacists_record_batches(username):
    response = client_for(username).post(BATCHES, new_batch_body(approved()), format="json")
    assert (response.status_code, Batch.objects.exclude(pk__in=DEMO_BATCHES).count()) == (404, 0)


def test_request_of_another_hospital_is_400_revealing_nothing():
    response = client_for("pharmacist_2").post(BATCHES, new_batch_body(approved()), format="json")
    assert response.json() == {
        "request": ["Choose an approved request of your hospital: there is none with this id."]
    }


def test_request_not_approved_is_400():
    submitted = ExemptionRequest.objects.get(hospital=organisation_of("pharmacist"), state=State.SUBMITTED)
    response = client_for("pharmacist").post(BATCHES, new_batch_body(submitted), format="json")
    assert response.status_code == 400 and list(response.json()) == ["request"]


def test_mistyped_check_character_is_400_on_the_donation_identifier():
    body = new_batch_body(approved(), check_character="Z")
    response = client_for("pharmacist").post(BATCHES, body, format="json")
    assert response.status_code == 400 and list(response.json()) == ["donation_identifier"]


def test_a_refused_batch_leaves_no_collection_behind():
    request = approved()
    body = new_batch_body(request, manufactured_on=(timezone.localdate() - timedelta(days=30)).isoformat())
    response = client_for("pharmacist").post(BATCHES, body, format="json")
    assert response.json() == {
        "manufactured_on": ["A batch cannot be made before its starting material was collected."]
    }
    assert not Collection.objects.filter(request=request).exists()


# --- the schema ------------------------------------------------------------------------------


def schema() -> dict:
    return APIClient().get("/api/v1/schema/", {"format": "json"}).json()


def test_schema_lists_the_batches_paths_and_a_path_for_every_step():
    paths = set(schema()["paths"])
    assert {"/api/v1/batches/", "/api/v1/batches/{id}/"} <= paths
    assert {f"/api/v1/batches/{{id}}/steps/{name}/" for name in STEPS} <= paths


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("record_result", "ResultBody"),
        ("correct_result", "CorrectionBody"),
        ("justify_exceptional_release", "JustificationBody"),
        ("release", "ReleaseBody"),
        ("administer", "AdministrationBody"),
    ],
)
def test_schema_documents_each_steps_body(name, body):
    operation = schema()["paths"][f"/api/v1/batches/{{id}}/steps/{name}/"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{body}"
    }


def test_detail_offers_the_steps_open_to_the_caller():
    batch = make_batch()
    record_results(batch)
    steps = client_for("pharmacist").get(f"/api/v1/batches/{batch.pk}/").json()["available_steps"]
    assert steps == ["correct_result", "release", "correct_collection"]


def test_a_collection_record_is_corrected_through_the_api():
    batch = make_batch()
    body = {"collection_site": "Apheresis unit 3", "reason": "Typo."}
    data = client_for("clinician").post(
        f"/api/v1/batches/{batch.pk}/steps/correct_collection/", body, format="json"
    )
    assert data.json()["collection"]["collection_site"] == "Apheresis unit 3"
