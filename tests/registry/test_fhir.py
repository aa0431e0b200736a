"""The FHIR R4 registry export (SPEC §6): every resource validates against the `fhir.resources` R4B
models, only consented treated patients are in it, and nothing that names or reaches a person."""

import json
from datetime import UTC

import pytest
import time_machine
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from atmp_clinic.followup import services as followup_services
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.patients import services as patient_services
from atmp_clinic.patients.models import ConsentKind, Patient
from atmp_clinic.registry import fhir
from atmp_clinic.registry import services as registry_services
from atmp_clinic.registry.models import Section
from tests.exemptions.conftest import user
from tests.followup.conftest import enrolled_patient, plan_for

pytestmark = pytest.mark.django_db

EXPECTED_TYPES = {"Patient", "Consent", "Procedure", "Encounter", "Observation", "AdverseEvent"}


@pytest.fixture(autouse=True)
def _demo(demo):
    """The demo's people and products (seeded again after a test that emptied the database)."""


def noon(day):
    return time_machine.travel(timezone.datetime(day.year, day.month, day.day, 12, tzinfo=UTC), tick=False)


def give_registry_consent(patient: Patient):
    return patient_services.consent_give(
        actor=user("clinician"), patient=patient, kind=ConsentKind.REGISTRY, given_on=timezone.localdate()
    )


def followed_up(plan: FollowUpPlan) -> FollowUpVisit:
    """The month-3 visit done on its due date, with every outcome section and a serious adverse reaction
    reported at it; the test goes on at noon of that day."""
    visit = plan.visits.get(label="Month 3")
    FollowUpVisit.objects.filter(pk=visit.pk).update(collects=[section.value for section in Section])
    clinician = user("clinician")
    followup_services.visit_record(actor=clinician, visit=visit, performed_on=visit.due_on)
    visit.refresh_from_db()
    registry_services.outcome_record(
        actor=clinician, visit=visit, vital_status="alive", disease_response="PR", ecog=1,
        replication_competent_vector="not_detected", vector_copy_number="0.250", car_t_persistence="detected",
        b_cell_aplasia=True, igg_g_per_l="4.10", eq5d_mobility=1, eq5d_self_care=1, eq5d_usual_activities=2,
        eq5d_pain_discomfort=2, eq5d_anxiety_depression=3, eq5d_vas=75,
    )  # fmt: skip
    registry_services.adverse_event_record(
        actor=clinician, plan=plan, visit=visit, term="Hypogammaglobulinaemia", onset_on=visit.due_on,
        relatedness="probable", outcome="recovering", grade=3, serious=True, seriousness=["hospitalisation"],
    )  # fmt: skip
    return visit


@pytest.fixture
def registry_patient():
    """A treated patient who consented to the registry, followed up to month 3."""
    patient = enrolled_patient()
    give_registry_consent(patient)
    plan = plan_for(patient)
    visit = plan.visits.get(label="Month 3")
    with noon(visit.due_on):
        followed_up(plan)
        yield Patient.objects.get(pk=patient.pk)


def lines_of(patient: Patient) -> list[str]:
    """The export's lines about this patient: the Patient itself and whatever refers to it."""
    reference = f'"Patient/{fhir.patient_id(patient)}"'
    own_id = f'"id":"{fhir.patient_id(patient)}"'
    return [line for line in fhir.ndjson_lines() if reference in line or own_id in line]


def test_every_ndjson_line_validates_as_its_fhir_r4_resource(registry_patient):
    lines = list(fhir.ndjson_lines())
    assert lines_of(registry_patient)
    for line in lines:
        assert line.endswith("\n") and "\n" not in line[:-1]
        resource_type = json.loads(line)["resourceType"]
        resource = get_fhir_model_class(resource_type).model_validate_json(line)
        assert resource.get_resource_type() == resource_type


def test_a_patient_is_exported_as_all_six_resource_types(registry_patient):
    types = {json.loads(line)["resourceType"] for line in lines_of(registry_patient)}
    assert types == EXPECTED_TYPES


def test_a_patients_resources_come_together_patient_first(registry_patient):
    resources = [json.loads(line) for line in fhir.ndjson_lines()]
    start = next(i for i, r in enumerate(resources) if r["id"] == fhir.patient_id(registry_patient))
    group = [r["resourceType"] for r in resources[start : start + len(lines_of(registry_patient))]]
    assert group[0] == "Patient"
    assert set(group) == EXPECTED_TYPES


def test_every_reference_points_at_an_exported_resource(registry_patient):
    resources = [json.loads(line) for line in lines_of(registry_patient)]
    exported = {f"{r['resourceType']}/{r['id']}" for r in resources}
    text = "".join(lines_of(registry_patient))
    references = {part.split('"')[0] for part in text.split('"reference":"')[1:]}
    assert references and references <= exported


def test_no_identity_or_contact_value_leaves(registry_patient):
    identity = registry_patient.identity
    text = "".join(fhir.ndjson_lines())
    for value in (identity.given_name, identity.family_name, identity.email, identity.phone):
        assert value and value not in text


def test_the_patient_is_known_by_pseudonym_year_of_birth_and_sex_only(registry_patient):
    patient = next(
        json.loads(line) for line in lines_of(registry_patient) if '"resourceType":"Patient"' in line
    )
    assert patient["identifier"] == [{"system": fhir.PSEUDONYM_SYSTEM, "value": registry_patient.pseudonym}]
    assert (patient["birthDate"], patient["gender"]) == ("1980", "female")
    assert set(patient) == {"resourceType", "id", "identifier", "gender", "birthDate"}


def test_ecog_is_coded_with_loinc_89247_1(registry_patient):
    observations = [json.loads(line) for line in lines_of(registry_patient) if '"Observation"' in line]
    ecog = next(o for o in observations if o["id"].endswith("-ecog"))
    assert ecog["code"]["coding"] == [
        {"system": "http://loinc.org", "code": "89247-1", "display": "ECOG Performance Status score"}
    ]
    assert ecog["valueInteger"] == 1


def test_eq5d5l_is_one_observation_with_its_five_dimensions_and_the_vas(registry_patient):
    observations = [json.loads(line) for line in lines_of(registry_patient) if '"Observation"' in line]
    eq5d = next(o for o in observations if o["id"].endswith("-eq-5d-5l"))
    assert [c["valueInteger"] for c in eq5d["component"]] == [1, 1, 2, 2, 3, 75]


def test_the_adverse_event_names_the_administration_as_suspect(registry_patient):
    resources = [json.loads(line) for line in lines_of(registry_patient)]
    event = next(r for r in resources if r["resourceType"] == "AdverseEvent")
    procedure = next(r for r in resources if r["resourceType"] == "Procedure")
    assert event["suspectEntity"][0]["instance"]["reference"] == f"Procedure/{procedure['id']}"
    assert (event["seriousness"]["coding"][0]["code"], event["severity"]["coding"][0]["code"]) == (
        "serious",
        "severe",
    )


def test_a_treated_patient_without_registry_consent_is_absent():
    plan = plan_for(enrolled_patient())
    assert lines_of(plan.patient) == []


def test_a_patient_whose_registry_consent_was_withdrawn_is_absent():
    patient = enrolled_patient()
    consent = give_registry_consent(patient)
    plan_for(patient)
    assert lines_of(patient)
    patient_services.consent_withdraw(
        actor=user("clinician"), consent=consent, withdrawn_on=timezone.localdate()
    )
    assert lines_of(patient) == []


def test_the_bundle_validates_and_holds_the_ndjson_resources(registry_patient):
    exported = fhir.bundle([registry_patient])
    parsed = Bundle.model_validate_json(exported.model_dump_json())
    assert parsed.type == "collection"
    assert [entry.resource.model_dump_json() + "\n" for entry in parsed.entry] == lines_of(registry_patient)


def test_the_bundle_leaves_out_a_patient_without_registry_consent():
    plan = plan_for(enrolled_patient())
    assert fhir.bundle([plan.patient]).entry is None


def test_the_export_reads_a_chunk_in_a_fixed_number_of_queries(registry_patient, django_assert_num_queries):
    # Patients, then per chunk: registry consents, administrations, plans, their visits, adverse events.
    with django_assert_num_queries(6):
        assert list(fhir.ndjson_lines())
