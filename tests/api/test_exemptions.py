"""`/api/v1/exemptions/` (SPEC §7): who sees which request, its detail, drafts, and every step of
SPEC §4 through `transitions/{name}/`, with the refusals as a client meets them."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from atmp_clinic.accounts.models import Role
from atmp_clinic.audit.services import WRONG_PASSWORD
from atmp_clinic.exemptions import services
from atmp_clinic.exemptions.api import STEPS
from atmp_clinic.exemptions.models import ExemptionRequest, State
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product
from tests.api.conftest import client_for, organisation_of, session_for
from tests.conftest import log_in
from tests.exemptions.conftest import (
    PASSWORD,
    approved,
    new_draft,
    ready_for_decision,
    submitted,
    under_assessment,
    user,
)
from tests.factories import member

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo")]

EXEMPTIONS = "/api/v1/exemptions/"
HOSPITAL_STAFF = ["pharmacist", "clinician", "pharmacist_2", "clinician_b"]
REVIEWERS = ["reviewer", "assessor", "decider", "reviewer_b"]
NOBODY = ["analyst", "patient", "admin"]


def detail_url(request: ExemptionRequest) -> str:
    return f"{EXEMPTIONS}{request.pk}/"


def step_url(request: ExemptionRequest, name: str) -> str:
    return f"{EXEMPTIONS}{request.pk}/transitions/{name}/"


def listed_ids(username: str, query: str = "") -> set[int]:
    return {item["id"] for item in client_for(username).get(EXEMPTIONS + query).json()["results"]}


def state_of(request: ExemptionRequest) -> str:
    return ExemptionRequest.objects.get(pk=request.pk).state


def demo_request(state: State, hospital_of: str = "pharmacist") -> ExemptionRequest:
    return ExemptionRequest.objects.get(hospital=organisation_of(hospital_of), state=state)


# --- who sees which request ------------------------------------------------------------------


@pytest.mark.parametrize("username", HOSPITAL_STAFF)
def test_hospital_staff_list_exactly_their_hospitals_requests(username):
    own = set(
        ExemptionRequest.objects.filter(hospital=organisation_of(username)).values_list("pk", flat=True)
    )
    assert len(own) == len(State) and listed_ids(username) == own


@pytest.mark.parametrize("username", REVIEWERS)
def test_authority_lists_the_requests_addressed_to_it_from_submission_on(username):
    sent = ExemptionRequest.objects.filter(authority=organisation_of(username)).exclude(state=State.DRAFT)
    assert listed_ids(username) == set(sent.values_list("pk", flat=True))


@pytest.mark.parametrize("username", REVIEWERS)
def test_authority_does_not_see_drafts(username):
    drafts = ExemptionRequest.objects.filter(authority=organisation_of(username), state=State.DRAFT)
    responses = [client_for(username).get(detail_url(draft)) for draft in drafts]
    assert drafts and {r.status_code for r in responses} == {404}


@pytest.mark.parametrize("username", NOBODY)
def test_everyone_else_lists_no_requests(username):
    assert listed_ids(username) == set()


@pytest.mark.parametrize(
    "username",
    # another hospital of the same country, another country's hospital and authority, other roles
    ["pharmacist_2", "clinician_2", "pharmacist_b", "clinician_b", "reviewer_b", "decider_b", *NOBODY],
)
def test_request_of_another_organisation_is_404_and_unlisted(username):
    other = demo_request(State.UNDER_ASSESSMENT)
    response = client_for(username).get(detail_url(other))
    assert response.status_code == 404 and other.reference not in response.content.decode()
    assert other.pk not in listed_ids(username)


@pytest.mark.parametrize(
    "username", ["pharmacist", "clinician", "reviewer", "assessor", "assessor2", "decider"]
)
def test_own_organisations_request_is_shown(username):
    response = client_for(username).get(detail_url(demo_request(State.UNDER_ASSESSMENT)))
    assert response.status_code == 200


def test_unknown_request_is_404():
    assert client_for("pharmacist").get(f"{EXEMPTIONS}999999/").status_code == 404


def test_unauthenticated_caller_gets_401_and_no_data():
    response = APIClient().get(EXEMPTIONS)
    assert response.status_code == 401 and "results" not in response.json()


def test_session_authenticates():
    assert session_for("reviewer").get(EXEMPTIONS).json()["count"] == len(listed_ids("reviewer"))


# --- the list --------------------------------------------------------------------------------


def test_list_item_shows_state_organisations_patient_product_and_clock():
    request = submitted()
    [item] = [i for i in client_for("reviewer").get(EXEMPTIONS).json()["results"] if i["id"] == request.pk]
    assert item == {
        "id": request.pk,
        "reference": request.reference,
        "state": {"value": "submitted", "label": "Submitted"},
        "kind": "initial",
        "hospital": {"id": request.hospital_id, "name": request.hospital.name},
        "authority": {"id": request.authority_id, "name": request.authority.name},
        "patient": {"id": request.patient_id, "pseudonym": request.patient.pseudonym},
        "product": {"id": request.product_id, "name": "CD19 CAR-T cells", "atmp_class": "gtmp"},
        "indication_code": "C83.3",
        "submitted_at": request.submitted_at.isoformat().replace("+00:00", "Z"),
        "clock": {
            "phase": "validation",
            "days_in_review": 0,
            "stopped_days": 0,
            "is_stopped": False,
            "due_on": (timezone.localdate() + timedelta(days=request.authority.validation_days)).isoformat(),
            "is_overdue": False,
        },
    }


def test_list_shows_patients_by_pseudonym_never_by_identity():
    response = client_for("reviewer").get(EXEMPTIONS)
    names = [p.identity.full_name for p in Patient.objects.filter(hospital=organisation_of("pharmacist"))]
    assert response.json()["count"] and not [name for name in names if name in response.content.decode()]


def test_clock_is_null_before_submission():
    draft = new_draft()
    [item] = [i for i in client_for("pharmacist").get(EXEMPTIONS).json()["results"] if i["id"] == draft.pk]
    assert item["clock"] is None


def test_clock_stands_still_while_information_is_requested():
    clock = client_for("assessor").get(detail_url(demo_request(State.INFORMATION_REQUESTED))).json()["clock"]
    assert clock["is_stopped"] is True


def test_state_filter_lists_only_that_state():
    results = client_for("decider").get(EXEMPTIONS, {"state": "approved"}).json()["results"]
    assert len(results) == 2 and {item["state"]["value"] for item in results} == {"approved"}


def test_unknown_state_is_400_naming_the_states():
    response = client_for("decider").get(EXEMPTIONS, {"state": "pending"})
    assert response.status_code == 400
    assert response.json()["state"] == [
        '"pending" is not a state of a request: use one of ' + ", ".join(State.values) + "."
    ]


def test_overdue_filter_lists_requests_past_their_due_date():
    late = submitted()
    days = late.authority.validation_days + 1
    ExemptionRequest.objects.filter(pk=late.pk).update(submitted_at=timezone.now() - timedelta(days=days))
    assert listed_ids("reviewer", "?overdue=true") == {late.pk}


def test_stopped_clock_is_not_overdue():
    asked = demo_request(State.INFORMATION_REQUESTED)
    asked.information_requests.update(asked_at=timezone.now() - timedelta(days=90))
    ExemptionRequest.objects.filter(pk=asked.pk).update(
        submitted_at=timezone.now() - timedelta(days=200), validated_at=timezone.now() - timedelta(days=190)
    )
    assert asked.pk not in listed_ids("reviewer", "?overdue=true")


def test_invalid_overdue_value_is_explained():
    response = client_for("reviewer").get(EXEMPTIONS, {"overdue": "soon"})
    assert response.status_code == 400 and response.json() == {
        "overdue": ["Write overdue=true or overdue=false."]
    }


def test_list_queries_do_not_grow_with_requests(django_assert_num_queries):
    for _ in range(10):
        new_draft()
    client = client_for("pharmacist")
    # token with user, count, requests with hospital, authority, patient and product, information requests
    with django_assert_num_queries(4):
        response = client.get(EXEMPTIONS)
    assert response.json()["count"] == len(State) + 10


def test_overdue_worklist_queries_do_not_grow_with_requests(django_assert_num_queries):
    for _ in range(3):
        late = submitted()
        ExemptionRequest.objects.filter(pk=late.pk).update(submitted_at=timezone.now() - timedelta(days=60))
    client = client_for("reviewer")
    # token with user, requests in review with their organisations, patient and product, information requests
    with django_assert_num_queries(3):
        response = client.get(EXEMPTIONS, {"overdue": "true"})
    assert response.json()["count"] == 3


# --- the detail ------------------------------------------------------------------------------


def test_detail_shows_what_the_hospital_wrote():
    data = client_for("assessor").get(detail_url(submitted())).json()
    assert set(services.EDITABLE_FIELDS) <= set(data)
    assert (data["dose"], data["responsible_physician"]) == (
        "1 × 10⁶ CAR+ T cells/kg",
        {"id": user("clinician").pk, "name": "Pieter Jansen"},
    )


@pytest.mark.parametrize(
    ("username", "transitions"),
    [("pharmacist", ["withdraw"]), ("reviewer", ["validate", "return"]), ("clinician", []), ("decider", [])],
)
def test_detail_lists_the_steps_the_caller_may_take_now(username, transitions):
    data = client_for(username).get(detail_url(submitted())).json()
    assert data["available_transitions"] == transitions


def test_detail_shows_assessments_and_decision():
    data = client_for("pharmacist").get(detail_url(approved())).json()
    assert [(a["kind"], a["assessor"], a["recommendation"]) for a in data["assessments"]] == [
        ("quality", "Daan Smit", "approve"),
        ("clinical", "Fleur Mulder", "approve"),
    ]
    assert (
        data["decision"]["outcome"],
        data["decision"]["decided_by"],
        data["decision"]["follow_up_years"],
    ) == (
        "approved",
        "Joost van den Berg",
        15,
    )


def test_detail_shows_the_authoritys_questions():
    [asked] = (
        client_for("pharmacist")
        .get(detail_url(demo_request(State.INFORMATION_REQUESTED)))
        .json()["information_requests"]
    )
    assert (asked["questions"], asked["answer"], asked["answered_at"]) == (
        "Please send the potency assay's validation report.",
        "",
        None,
    )


def test_timeline_is_the_audit_trail_in_order():
    data = client_for("reviewer").get(detail_url(submitted())).json()
    assert [(e["action"], e["actor"], e["after"]) for e in data["timeline"]] == [
        ("created", "Sanne de Vries", {"state": "draft"}),
        ("co_signed", "Pieter Jansen", {}),
        ("submitted", "Sanne de Vries", {"state": "submitted"}),
    ]


def test_timeline_names_no_actor_for_the_systems_own_steps():
    timeline = client_for("reviewer").get(detail_url(demo_request(State.LAPSED))).json()["timeline"]
    assert (timeline[-1]["action"], timeline[-1]["actor"]) == ("lapsed", None)


# --- drafts ----------------------------------------------------------------------------------


def new_draft_body(**overrides) -> dict:
    return {
        "patient": Patient.objects.get(user__username="patient").pk,
        "product": Product.objects.get(name="CD19 CAR-T cells").pk,
        "indication_code": "C83.3",
        "dose": "1 × 10⁶ CAR+ T cells/kg",
        "responsible_physician": user("clinician").pk,
        **overrides,
    }


def test_pharmacist_creates_a_draft():
    response = client_for("pharmacist").post(EXEMPTIONS, new_draft_body(), format="json")
    data = response.json()
    assert (response.status_code, data["state"]["value"], data["dose"]) == (
        201,
        "draft",
        "1 × 10⁶ CAR+ T cells/kg",
    )
    assert data["reference"].startswith("HE-NL-") and data["available_transitions"] == ["submit", "withdraw"]


def test_draft_for_another_hospitals_patient_is_400_revealing_nothing():
    zoe = Patient.objects.get(user__username="patient_b")
    response = client_for("pharmacist").post(EXEMPTIONS, new_draft_body(patient=zoe.pk), format="json")
    assert response.status_code == 400 and zoe.pseudonym not in response.content.decode()
    assert response.json() == {
        "patient": ["Choose a living patient of your hospital: there is none with this id."]
    }


def test_draft_for_another_hospitals_product_is_400():
    other = Product.objects.filter(hospital=organisation_of("pharmacist_2")).first()
    response = client_for("pharmacist").post(EXEMPTIONS, new_draft_body(product=other.pk), format="json")
    assert response.status_code == 400 and list(response.json()) == ["product"]


def test_physician_of_another_hospital_is_400():
    body = new_draft_body(responsible_physician=user("clinician_2").pk)
    response = client_for("pharmacist").post(EXEMPTIONS, body, format="json")
    assert response.json() == {
        "responsible_physician": ["Choose a clinician of your hospital: there is none with this id."]
    }


@pytest.mark.parametrize("username", ["clinician", "reviewer", "analyst", "patient", "admin"])
def test_only_pharmacists_create_drafts(username):
    before = ExemptionRequest.objects.count()
    response = client_for(username).post(EXEMPTIONS, new_draft_body(), format="json")
    assert (response.status_code, ExemptionRequest.objects.count()) == (404, before)


def test_others_get_404_even_for_invalid_drafts():
    assert client_for("clinician").post(EXEMPTIONS, {}, format="json").status_code == 404


def test_draft_errors_name_every_mistake():
    body = new_draft_body(indication_code="lymphoma", batches_expected=0, route="oral")
    errors = client_for("pharmacist").post(EXEMPTIONS, body, format="json").json()
    assert set(errors) == {"indication_code", "batches_expected", "route"}
    assert errors["indication_code"] == ["An ICD-10 code looks like C83.3 or C91.0."]


def test_permit_named_by_an_initial_request_is_400():
    body = new_draft_body(kind="initial", modifies=demo_request(State.APPROVED).pk)
    response = client_for("pharmacist").post(EXEMPTIONS, body, format="json")
    assert response.status_code == 400 and list(response.json()) == ["non_field_errors"]


def test_misspelt_field_is_named_not_dropped():
    response = client_for("pharmacist").post(EXEMPTIONS, new_draft_body(dosage="2 mg"), format="json")
    assert response.status_code == 400 and list(response.json()) == ["dosage"]


def test_pharmacist_edits_a_draft():
    draft = new_draft()
    response = client_for("pharmacist").patch(detail_url(draft), {"dose": "2 × 10⁶ cells/kg"}, format="json")
    assert (response.status_code, response.json()["dose"]) == (200, "2 × 10⁶ cells/kg")


def test_edit_is_in_the_timeline():
    draft = new_draft()
    timeline = (
        client_for("pharmacist").patch(detail_url(draft), {"dose": "2 mg"}, format="json").json()["timeline"]
    )
    assert (timeline[-1]["action"], timeline[-1]["after"]) == ("edited", {"dose": "2 mg"})


def test_editing_a_submitted_request_is_409_with_the_reason():
    response = client_for("pharmacist").patch(detail_url(submitted()), {"dose": "2 mg"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "This request is submitted: it can no longer be edited."}


def test_patient_of_a_draft_cannot_be_changed():
    other = (
        Patient.objects.filter(hospital=organisation_of("pharmacist"))
        .exclude(user__username="patient")
        .first()
    )
    response = client_for("pharmacist").patch(detail_url(new_draft()), {"patient": other.pk}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["patient"]


@pytest.mark.parametrize("username", ["clinician", "pharmacist_2", "reviewer"])
def test_only_the_hospitals_pharmacists_edit(username):
    draft = new_draft()
    response = client_for(username).patch(detail_url(draft), {"dose": "2 mg"}, format="json")
    assert (response.status_code, ExemptionRequest.objects.get(pk=draft.pk).dose) == (404, draft.dose)


@pytest.mark.parametrize("method", ["put", "delete"])
def test_requests_are_not_replaced_or_deleted_through_the_api(method):
    draft = new_draft()
    response = getattr(client_for("pharmacist"), method)(detail_url(draft), {}, format="json")
    assert (response.status_code, ExemptionRequest.objects.filter(pk=draft.pk).exists()) == (405, True)


# --- every step of SPEC §4 through the API ---------------------------------------------------


def test_physician_co_signs_a_draft():
    draft = new_draft()
    response = session_for("clinician").post(
        step_url(draft, "co_sign"), {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 200 and response.json()["timeline"][-1]["action"] == "co_signed"


def test_pharmacist_submits_a_co_signed_draft():
    draft = new_draft()
    client_for("clinician").post(step_url(draft, "co_sign"), {"password": PASSWORD}, format="json")
    response = client_for("pharmacist").post(step_url(draft, "submit"), {"password": PASSWORD}, format="json")
    assert (response.status_code, response.json()["state"]["value"]) == (200, "submitted")


def test_validator_validates_with_a_comment():
    response = client_for("reviewer").post(
        step_url(submitted(), "validate"), {"comment": "Complete."}, format="json"
    )
    data = response.json()
    assert (data["state"]["value"], data["timeline"][-1]["reason"]) == ("under_assessment", "Complete.")


def test_validator_validates_without_a_comment():
    response = session_for("reviewer").post(step_url(submitted(), "validate"), {}, format="json")
    assert response.json()["state"]["value"] == "under_assessment"


def test_validator_returns_an_incomplete_request():
    body = {"reasons": "Add the qualified person's CV."}
    data = client_for("reviewer").post(step_url(submitted(), "return"), body, format="json").json()
    assert (data["state"]["value"], data["available_transitions"]) == ("returned", [])


def test_assessor_asks_for_information_and_the_clock_stops():
    body = {"questions": "Send the potency assay's validation."}
    data = (
        client_for("assessor")
        .post(step_url(under_assessment(), "request_information"), body, format="json")
        .json()
    )
    assert (data["state"]["value"], data["clock"]["is_stopped"]) == ("information_requested", True)


def test_pharmacist_answers_the_authoritys_questions():
    request = under_assessment()
    services.request_ask_information(actor=user("assessor"), request=request, questions="Potency?")
    body = {"answer": "Attached as annex 4."}
    data = client_for("pharmacist").post(step_url(request, "answer_information"), body, format="json").json()
    assert (data["state"]["value"], data["information_requests"][0]["answer"]) == (
        "under_assessment",
        "Attached as annex 4.",
    )


def test_two_assessments_make_the_request_ready_for_decision():
    request = under_assessment()
    quality = {"kind": "quality", "report": "Adequate.", "recommendation": "approve"}
    clinical = {"kind": "clinical", "report": "Benefit likely.", "recommendation": "approve_with_conditions"}
    client_for("assessor").post(step_url(request, "record_assessment"), quality, format="json")
    data = (
        client_for("assessor2").post(step_url(request, "record_assessment"), clinical, format="json").json()
    )
    assert (data["state"]["value"], len(data["assessments"])) == ("ready_for_decision", 2)


def test_decider_approves_with_conditions():
    body = {
        "password": PASSWORD,
        "outcome": "approved_with_conditions",
        "reasons": "Criteria met.",
        "conditions": "Report every administration within 7 days.",
        "follow_up_years": 10,
    }
    data = client_for("decider").post(step_url(ready_for_decision(), "decide"), body, format="json").json()
    assert (data["state"]["value"], data["decision"]["conditions"], data["decision"]["follow_up_years"]) == (
        "approved_with_conditions",
        "Report every administration within 7 days.",
        10,
    )


def test_decider_names_the_follow_up_template():
    body = {
        "password": PASSWORD,
        "outcome": "approved",
        "reasons": "ok",
        "follow_up_template": "somatic_cell_therapy",
    }
    data = client_for("decider").post(step_url(ready_for_decision(), "decide"), body, format="json").json()
    assert data["decision"]["follow_up_template"] == "somatic_cell_therapy"


def test_an_unknown_follow_up_template_is_400():
    body = {"password": PASSWORD, "outcome": "approved", "reasons": "ok", "follow_up_template": "forever"}
    response = client_for("decider").post(step_url(ready_for_decision(), "decide"), body, format="json")
    assert response.status_code == 400 and "follow_up_template" in response.json()


def test_pharmacist_withdraws_a_request_before_decision():
    body = {"reason": "The patient's condition improved."}
    response = client_for("pharmacist").post(step_url(submitted(), "withdraw"), body, format="json")
    assert response.json()["state"]["value"] == "withdrawn"


def test_decider_suspends_an_approval():
    body = {"reason": "Sterility failure at the site."}
    response = client_for("decider").post(step_url(approved(), "suspend"), body, format="json")
    assert response.json()["state"]["value"] == "suspended"


def test_decider_revokes_an_approval():
    body = {"reason": "Manufacturing authorisation withdrawn."}
    response = client_for("decider").post(step_url(approved(), "revoke"), body, format="json")
    assert response.json()["state"]["value"] == "revoked"


# --- refusals --------------------------------------------------------------------------------


def test_deciding_an_approved_request_is_409_with_a_message():
    body = {"password": PASSWORD, "outcome": "rejected", "reasons": "Second thoughts."}
    response = client_for("decider").post(step_url(approved(), "decide"), body, format="json")
    assert response.status_code == 409
    assert response.json()["detail"].startswith("This request is approved now, so it cannot be decided.")


def test_decider_who_assessed_the_request_is_400_four_eyes():
    both = member(
        role=Role.REVIEWER, organisation=organisation_of("decider"), is_assessor=True, is_decider=True
    )
    both.set_password(PASSWORD)
    both.save()
    request = under_assessment()
    services.assessment_record(
        actor=both, request=request, kind="quality", report="ok", recommendation="approve"
    )
    services.assessment_record(
        actor=user("assessor2"), request=request, kind="clinical", report="ok", recommendation="approve"
    )
    body = {"password": PASSWORD, "outcome": "approved", "reasons": "ok"}
    response = client_for(both).post(step_url(request, "decide"), body, format="json")
    assert (response.status_code, response.json()) == (400, {"detail": services.FOUR_EYES})


def test_second_assessment_by_the_same_assessor_is_400():
    request = under_assessment()
    client = client_for("assessor")
    client.post(
        step_url(request, "record_assessment"),
        {"kind": "quality", "report": "ok", "recommendation": "approve"},
        format="json",
    )
    body = {"kind": "clinical", "report": "ok", "recommendation": "approve"}
    response = client.post(step_url(request, "record_assessment"), body, format="json")
    assert (response.status_code, response.json()) == (400, {"detail": services.SAME_ASSESSOR})


def test_co_signing_an_incomplete_draft_is_400_with_what_is_missing():
    draft = new_draft(indication_code="", qualified_person="")
    response = client_for("clinician").post(step_url(draft, "co_sign"), {"password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["missing"] == {
        "indication_code": "Give the indication's ICD-10 code.",
        "qualified_person": "Name the qualified person who releases batches.",
    }


def test_submitting_without_the_physicians_signature_is_400():
    response = client_for("pharmacist").post(
        step_url(new_draft(), "submit"), {"password": PASSWORD}, format="json"
    )
    assert (response.status_code, response.json()) == (400, {"detail": services.NOT_SIGNED_BY_PHYSICIAN})


def test_wrong_password_is_400_on_password_and_nothing_changes():
    draft = new_draft()
    client_for("clinician").post(step_url(draft, "co_sign"), {"password": PASSWORD}, format="json")
    response = client_for("pharmacist").post(step_url(draft, "submit"), {"password": "guess"}, format="json")
    assert (response.status_code, response.json(), state_of(draft)) == (
        400,
        {"password": [WRONG_PASSWORD]},
        "draft",
    )


def test_missing_password_is_explained():
    response = client_for("clinician").post(step_url(new_draft(), "co_sign"), {}, format="json")
    assert response.json() == {"password": ["Enter your password again: it is your electronic signature."]}


def test_return_without_reasons_is_explained():
    response = client_for("reviewer").post(step_url(submitted(), "return"), {"reasons": "  "}, format="json")
    assert (response.status_code, response.json()) == (
        400,
        {"reasons": ["Say what is missing, so the hospital can complete the request."]},
    )


def test_unknown_assessment_kind_names_the_kinds():
    body = {"kind": "financial", "report": "ok", "recommendation": "approve"}
    response = client_for("assessor").post(
        step_url(under_assessment(), "record_assessment"), body, format="json"
    )
    assert response.json() == {
        "kind": ['"financial" is not a kind of assessment: use one of quality, clinical.']
    }


def test_approval_with_conditions_needs_the_conditions():
    body = {"password": PASSWORD, "outcome": "approved_with_conditions", "reasons": "ok"}
    response = client_for("decider").post(step_url(ready_for_decision(), "decide"), body, format="json")
    assert response.json() == {"conditions": ["Write the conditions of the approval."]}


@pytest.mark.parametrize(
    ("username", "name", "body"),
    [
        ("clinician", "validate", {}),
        ("pharmacist", "validate", {}),
        ("assessor", "validate", {}),  # an assessor, not a validator
        ("decider", "return", {"reasons": "Incomplete."}),
        ("pharmacist", "decide", {"password": PASSWORD, "outcome": "approved", "reasons": "ok"}),
        ("clinician", "withdraw", {"reason": "No longer needed."}),
        ("pharmacist", "co_sign", {"password": PASSWORD}),  # not the responsible physician
    ],
)
def test_step_by_the_wrong_role_is_404_and_changes_nothing(username, name, body):
    request = submitted() if name != "co_sign" else new_draft()
    before = state_of(request)
    response = client_for(username).post(step_url(request, name), body, format="json")
    assert (response.status_code, state_of(request)) == (404, before)


def test_wrong_role_gets_404_even_without_a_body():
    assert client_for("clinician").post(step_url(approved(), "revoke"), {}, format="json").status_code == 404


def test_step_on_a_request_of_another_country_is_404():
    request = submitted()
    response = client_for("reviewer_b").post(step_url(request, "validate"), {}, format="json")
    assert (response.status_code, state_of(request)) == (404, "submitted")


@pytest.mark.parametrize("name", ["approve", "lapse", "resubmit"])
def test_unknown_step_is_404(name):
    request = submitted()
    response = client_for("reviewer").post(step_url(request, name), {}, format="json")
    assert (response.status_code, state_of(request)) == (404, "submitted")


def test_steps_are_posted_not_fetched():
    assert client_for("reviewer").get(step_url(submitted(), "validate")).status_code == 405


def test_session_step_needs_the_csrf_token():
    client = log_in(APIClient(enforce_csrf_checks=True), user("reviewer"))
    request = submitted()
    response = client.post(step_url(request, "validate"), {}, format="json")
    assert (response.status_code, state_of(request)) == (403, "submitted")


# --- the schema ------------------------------------------------------------------------------


def schema() -> dict:
    return APIClient().get("/api/v1/schema/", {"format": "json"}).json()


def test_schema_lists_the_exemptions_paths():
    paths = schema()["paths"]
    assert {"/api/v1/exemptions/", "/api/v1/exemptions/{id}/"} <= set(paths)


def test_schema_lists_a_transitions_path_for_every_step():
    paths = schema()["paths"]
    assert {f"/api/v1/exemptions/{{id}}/transitions/{name}/" for name in STEPS} <= set(paths)


def test_schema_documents_each_steps_body():
    operation = schema()["paths"]["/api/v1/exemptions/{id}/transitions/decide/"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DecisionBody"
    }
