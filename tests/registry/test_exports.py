"""The registry export (SPEC §6, §7): analysts only, consented and treated patients only, by pseudonym,
never identity or contact data, streamed with a fixed number of queries whatever the row count."""

import csv
import io
import json
from datetime import UTC

import pytest
import time_machine
from django.utils import timezone

from atmp_clinic.followup import services as followup_services
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.patients import services as patient_services
from atmp_clinic.patients.models import Consent, ConsentKind, PatientIdentity
from atmp_clinic.registry import exports
from atmp_clinic.registry import services as registry_services
from atmp_clinic.registry.exports import registry_patients
from atmp_clinic.registry.models import AdverseEvent, OutcomeRecord, Section
from tests.api.conftest import client_for
from tests.exemptions.conftest import user
from tests.followup.conftest import enrolled_patient, plan_for

pytestmark = pytest.mark.django_db

CSV_URL = "/api/v1/registry/export.csv"
NDJSON_URL = "/api/v1/registry/export.ndjson"
TABLES = ("visits", "outcomes", "adverse_events")
REGISTRY = ConsentKind.REGISTRY
EQ5D = {
    "eq5d_mobility": 2, "eq5d_self_care": 1, "eq5d_usual_activities": 1, "eq5d_pain_discomfort": 3,
    "eq5d_anxiety_depression": 1, "eq5d_vas": 70,
}  # fmt: skip


@pytest.fixture(autouse=True)
def _demo(demo):
    """The demo's people and products (seeded again after a test that emptied the database)."""


def treated(*, consents=(REGISTRY,), visits_done: int = 1, adverse_events: int = 1) -> FollowUpPlan:
    """A new patient given the demo CAR-T, their first visits done with their outcomes, and adverse
    events. Only one per test: the demo's donation identifiers allow no second chain."""
    plan = plan_for(enrolled_patient(consents=consents))
    clinician = user("clinician")
    for number, visit in enumerate(plan.visits.order_by("due_on")[:visits_done]):
        FollowUpVisit.objects.filter(pk=visit.pk).update(
            collects=[*visit.collects, Section.VITAL_STATUS, Section.QUALITY_OF_LIFE]
        )
        day = visit.due_on
        with time_machine.travel(timezone.datetime(day.year, day.month, day.day, 12, tzinfo=UTC), tick=False):
            followup_services.visit_record(actor=clinician, visit=visit, performed_on=day)
            visit.refresh_from_db()
            registry_services.outcome_record(actor=clinician, visit=visit, vital_status="alive", **EQ5D)
            for _ in range(adverse_events if number == 0 else 0):  # all at the first visit
                registry_services.adverse_event_record(
                    actor=clinician, plan=plan, term="Pyrexia", onset_on=day, relatedness="possible",
                    outcome="recovering", grade=2,
                )  # fmt: skip
    return plan


def export(table: str, who: str = "analyst"):
    return client_for(who).get(CSV_URL, {"table": table})


def rows_of(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def pseudonyms(table: str) -> set[str]:
    return {row["pseudonym"] for row in rows_of(export(table))}


def withdraw_registry_consent(plan: FollowUpPlan) -> None:
    consent = Consent.objects.get(patient=plan.patient, kind=REGISTRY, withdrawn_on__isnull=True)
    patient_services.consent_withdraw(
        actor=user("clinician"), consent=consent, withdrawn_on=timezone.localdate()
    )


# --- Whose rows ------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_analyst_gets_a_consented_patients_rows_of_each_table(table):
    plan = treated()
    assert plan.patient.pseudonym in pseudonyms(table)


def test_the_rows_carry_the_common_columns_then_the_tables_own():
    plan = treated()
    visit, *_ = [row for row in rows_of(export("visits")) if row["pseudonym"] == plan.patient.pseudonym]
    assert visit["hospital_country"] == plan.patient.hospital.country
    assert visit["atmp_class"] == plan.administration.request.product.atmp_class
    assert visit["administration_date"] == plan.starts_on.isoformat()
    assert (visit["status"], visit["in_window"]) == ("completed", "true")


def test_an_outcome_row_holds_the_eq5d_levels_and_never_the_cause_of_death():
    plan = treated()
    outcome = next(row for row in rows_of(export("outcomes")) if row["pseudonym"] == plan.patient.pseudonym)
    assert (outcome["vital_status"], outcome["eq5d_mobility"], outcome["eq5d_vas"]) == ("alive", "2", "70")
    assert "cause_of_death" not in outcome


def test_cells_print_alike_on_every_database():
    """The database formats the cells (COPY on PostgreSQL, the ORM elsewhere): booleans as
    true/false, lists joined by ';', unknown and blank values as empty cells, text quoted as CSV."""
    plan = treated()
    AdverseEvent.objects.filter(plan=plan).update(
        term='Pyrexia, "high"', serious=True, seriousness=["life_threatening", "hospitalisation"]
    )
    OutcomeRecord.objects.filter(visit__plan=plan).update(b_cell_aplasia=False, vector_copy_number="0.25")
    mine = lambda table: [row for row in rows_of(export(table)) if row["pseudonym"] == plan.patient.pseudonym]  # noqa: E731
    event, *_ = mine("adverse_events")
    assert (event["term"], event["serious"], event["seriousness"]) == (
        'Pyrexia, "high"', "true", "life_threatening;hospitalisation"
    )  # fmt: skip
    assert (event["special_interest"], event["resolved_on"]) == ("", "")
    outcome, *_ = mine("outcomes")
    assert (outcome["b_cell_aplasia"], outcome["vector_copy_number"]) == ("false", "0.250")
    assert (outcome["disease_response"], outcome["igg_g_per_l"]) == ("", "")
    assert [visit["in_window"] for visit in mine("visits")][:2] == ["true", ""]  # done, then still to come


def test_each_row_is_one_line():
    treated(visits_done=2)
    lines = list(exports.csv_lines("visits"))
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    assert len(lines) == exports.row_count("visits")


def test_a_stream_closed_early_leaves_the_connection_usable():
    """A client that goes away mid-download closes the stream; on PostgreSQL that cancels the COPY."""
    treated(visits_done=2)
    lines = exports.csv_lines("visits")
    next(lines), next(lines)
    lines.close()
    assert FollowUpVisit.objects.filter(plan__patient__in=registry_patients()).count() > 1


@pytest.mark.parametrize("table", TABLES)
def test_a_treated_patient_without_registry_consent_is_not_exported(table):
    plan = treated(consents=())
    assert plan.patient.pseudonym not in pseudonyms(table)


@pytest.mark.parametrize("table", TABLES)
def test_a_withdrawn_registry_consent_removes_the_patient_from_later_exports(table):
    plan = treated()
    withdraw_registry_consent(plan)
    assert plan.patient.pseudonym not in pseudonyms(table)


def ndjson_pseudonyms() -> set[str]:
    lines = b"".join(client_for("analyst").get(NDJSON_URL).streaming_content).decode().splitlines()
    resources = [json.loads(line) for line in lines]
    return {r["identifier"][0]["value"] for r in resources if r["resourceType"] == "Patient"}


def test_analyst_gets_a_consented_patient_as_fhir_ndjson():
    plan = treated()
    assert plan.patient.pseudonym in ndjson_pseudonyms()


def test_a_withdrawn_registry_consent_removes_the_patient_from_the_fhir_export():
    plan = treated()
    withdraw_registry_consent(plan)
    assert plan.patient.pseudonym not in ndjson_pseudonyms()


def test_registry_patients_are_treated_and_consented():
    plan = treated()
    consented_untreated = enrolled_patient(consents=(REGISTRY,))
    patients = set(registry_patients())
    assert plan.patient in patients and consented_untreated not in patients


# --- What never leaves -----------------------------------------------------------------------------


def test_no_identity_or_contact_value_appears_in_any_export():
    treated()
    identities = PatientIdentity.objects.all()
    values = {
        value
        for identity in identities
        for value in (identity.given_name, identity.family_name, identity.email, identity.phone)
        if value
    }
    assert len(values) > 4  # the demo's patients and this test's own
    responses = [*(export(table) for table in TABLES), client_for("analyst").get(NDJSON_URL)]
    text = "".join(b"".join(response.streaming_content).decode() for response in responses)
    assert [value for value in values if value in text] == []


# --- Who may export --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["clinician", "pharmacist", "reviewer", "decider", "patient", "admin"])
@pytest.mark.parametrize("url", [CSV_URL + "?table=visits", NDJSON_URL])
def test_anyone_but_an_analyst_gets_404(who, url):
    assert client_for(who).get(url).status_code == 404


@pytest.mark.parametrize("table", ["", "patients", "identity"])
def test_an_unknown_table_is_400(table):
    response = export(table)
    assert response.status_code == 400
    assert "table" in response.json()


# --- How it is sent --------------------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_the_export_is_streamed_as_a_csv_attachment(table):
    response = export(table)
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith(f'attachment; filename="registry-{table}-')


def test_the_fhir_export_is_streamed_as_ndjson():
    response = client_for("analyst").get(NDJSON_URL, HTTP_ACCEPT="application/fhir+ndjson")
    assert (response.streaming, response["Content-Type"]) == (True, "application/fhir+ndjson")


def test_a_client_asking_for_csv_is_answered_csv():
    response = client_for("analyst").get(CSV_URL, {"table": "visits"}, HTTP_ACCEPT="text/csv")
    assert response.status_code == 200


@pytest.mark.parametrize("table", TABLES)
def test_the_rows_are_read_in_one_query_whatever_their_number(table, django_assert_num_queries):
    treated(visits_done=3, adverse_events=3)
    response = export(table)
    with django_assert_num_queries(1):
        rows = rows_of(response)
    assert len(rows) > 1
