"""A record's audit trail for people: the page, its CSV and PDF, for exactly those who see the
record; signatures shown as still matching the record or not."""

import csv
import hashlib
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atmp_clinic.audit.models import AuditEvent
from atmp_clinic.audit.selectors import NO_LONGER_MATCHES, events_for, signatures_for
from atmp_clinic.audit.services import content_hash
from atmp_clinic.documents.models import DocumentKind, IssuedDocument
from atmp_clinic.exemptions import services as exemption_services
from atmp_clinic.exemptions.models import Decision, ExemptionRequest
from atmp_clinic.followup import services as followup_services
from atmp_clinic.manufacturing import services as manufacturing_services
from atmp_clinic.manufacturing.models import Batch
from atmp_clinic.registry import services as registry_services
from atmp_clinic.registry.models import ExpeditedReport
from atmp_clinic.registry.services import expedited_report_submit
from tests.conftest import signature_of
from tests.documents.conftest import assert_a_proper_document
from tests.exemptions.conftest import approved, client_for, new_draft, submitted, user
from tests.followup.conftest import enrolled_patient, plan_for
from tests.manufacturing.conftest import make_batch, record_results, released_batch
from tests.registry.test_services import ALIVE, SERIOUS_REACTION, adverse_event, noon

pytestmark = pytest.mark.usefixtures("demo")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Issued documents written to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"


OUTSIDERS = ["pharmacist_2", "reviewer_b", "patient", "analyst"]
ENDPOINTS = ["audit-record-trail", "audit-record-trail-csv", "audit-record-trail-pdf"]


def url(name: str, record) -> str:
    return reverse(name, args=[record._meta.label_lower, record.pk])


def page(username: str, record):
    return client_for(username).get(url("audit-record-trail", record))


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def edited_draft() -> ExemptionRequest:
    draft = new_draft(dose="1 × 10⁶ cells/kg")
    exemption_services.request_update(actor=user("pharmacist"), request=draft, dose="2 × 10⁶ cells/kg")
    return draft


def returned() -> ExemptionRequest:
    return exemption_services.request_return(
        actor=user("reviewer"), request=submitted(), reasons="The dose is not justified."
    )


# --- The page ------------------------------------------------------------------------------------


def test_it_shows_each_changed_field_with_its_value_before_and_after():
    html = page("pharmacist", edited_draft()).content.decode()
    assert "<code>dose</code>: 1 × 10⁶ cells/kg → 2 × 10⁶ cells/kg" in html


def test_it_shows_the_actor_with_their_role_and_the_reason():
    html = page("pharmacist", returned()).content.decode()
    assert "Lotte Visser" in html
    assert "Authority reviewer" in html
    assert "The dose is not justified." in html
    assert "<code>state</code>: submitted → returned" in html


def test_it_shows_times_in_utc():
    draft = new_draft()
    created = events_for(obj=draft).get(action="created")
    html = page("pharmacist", draft).content.decode()
    assert "When (UTC)" in html
    assert created.occurred_at.strftime("%Y-%m-%d %H:%M:%S") in html


def test_the_authority_of_the_country_sees_the_trail_of_a_submitted_request():
    assert page("reviewer", submitted()).status_code == 200


def test_an_unknown_record_type_is_404():
    draft = new_draft()
    response = client_for("pharmacist").get(
        reverse("audit-record-trail", args=["patients.patient", draft.pk])
    )
    assert response.status_code == 404


def test_a_record_that_does_not_exist_is_404():
    response = client_for("pharmacist").get(
        reverse("audit-record-trail", args=["exemptions.exemptionrequest", 0])
    )
    assert response.status_code == 404


def test_the_authority_does_not_see_a_draft_trail():
    assert page("reviewer", new_draft()).status_code == 404


def _records() -> dict[str, object]:
    plan = plan_for(enrolled_patient())
    request = plan.administration.request
    return {
        "request": request,
        "decision": request.decision,
        "batch": plan.administration.batch,
        "plan": plan,
        "visit": plan.visits.first(),
    }


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsiders_get_404_on_the_page_the_csv_and_the_pdf_of_every_record_type(outsider):
    records = _records()
    client = client_for(outsider)
    statuses = {
        (kind, endpoint): client.get(url(endpoint, record)).status_code
        for kind, record in records.items()
        for endpoint in ENDPOINTS
    }
    assert set(statuses.values()) == {404}, statuses
    assert not IssuedDocument.objects.filter(kind=DocumentKind.AUDIT_TRAIL).exists()


@pytest.mark.parametrize("insider", ["pharmacist", "clinician", "reviewer", "decider"])
def test_those_who_see_the_record_get_its_page_csv_and_pdf_for_every_record_type(insider):
    records = _records()
    client = client_for(insider)
    statuses = {
        (kind, endpoint): client.get(url(endpoint, record)).status_code
        for kind, record in records.items()
        for endpoint in ENDPOINTS
    }
    assert set(statuses.values()) == {200}, statuses


def test_the_administrator_sees_a_record_trail_only_where_they_see_the_record():
    assert page("admin", submitted()).status_code == 404


def test_record_pages_link_to_the_full_trail():
    records = _records()
    # A new plan has no event of its own until something happens to it, such as its letter printed.
    client_for("clinician").get(reverse("plan-schedule", args=[records["plan"].pk]))
    pages = {
        "request": reverse("request-detail", args=[records["request"].pk]),
        "batch": reverse("batch-detail", args=[records["batch"].pk]),
        "plan": reverse("plan-detail", args=[records["plan"].pk]),
    }
    client = client_for("clinician")
    for kind, address in pages.items():
        assert url("audit-record-trail", records[kind]) in client.get(address).content.decode(), kind
    assert url("audit-record-trail", records["decision"]) in client.get(pages["request"]).content.decode()


# --- CSV -----------------------------------------------------------------------------------------


def test_the_csv_has_a_line_per_changed_field_with_the_event_hash():
    draft = edited_draft()
    response = client_for("pharmacist").get(url("audit-record-trail-csv", draft))
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    rows = csv_rows(response)
    assert list(rows[0]) == [
        "event_id", "occurred_at_utc", "actor", "action", "field", "before", "after", "reason", "event_hash",
    ]  # fmt: skip
    edited = next(row for row in rows if row["action"] == "edited")
    event = AuditEvent.objects.get(pk=edited["event_id"])
    assert (edited["field"], edited["before"], edited["after"]) == (
        "dose",
        "1 × 10⁶ cells/kg",
        "2 × 10⁶ cells/kg",
    )
    assert edited["event_hash"] == event.hash
    assert edited["occurred_at_utc"] == event.occurred_at.isoformat()
    assert edited["occurred_at_utc"].endswith("+00:00")
    assert edited["actor"].endswith("(pharmacist)")


def test_exporting_the_csv_is_itself_audited():
    draft = new_draft()
    client_for("pharmacist").get(url("audit-record-trail-csv", draft))
    exported = events_for(obj=draft).get(action="audit_trail_exported")
    assert (exported.actor.username, exported.after) == ("pharmacist", {"format": "csv"})


def test_a_reason_typed_as_a_formula_stays_text_in_the_csv():
    request = exemption_services.request_return(
        actor=user("reviewer"), request=submitted(), reasons='=HYPERLINK("http://example.org")'
    )
    rows = csv_rows(client_for("pharmacist").get(url("audit-record-trail-csv", request)))
    assert (
        next(row for row in rows if row["action"] == "returned")["reason"]
        == '\'=HYPERLINK("http://example.org")'
    )


# --- PDF -----------------------------------------------------------------------------------------


def test_the_pdf_is_a_proper_document_issued_with_its_hash():
    request = returned()
    response = client_for("pharmacist").get(url("audit-record-trail-pdf", request))
    assert response["Content-Type"] == "application/pdf"
    text = assert_a_proper_document(response.content, title=f"Audit trail — {request.reference}")
    words = " ".join(text.split())
    assert "The dose is not justified." in words
    assert "Matches the record" in words
    issued = IssuedDocument.objects.get(kind=DocumentKind.AUDIT_TRAIL, object_id=request.pk)
    assert issued.sha256 == hashlib.sha256(response.content).hexdigest()
    assert events_for(obj=request).filter(action="document_issued", after__kind="audit_trail").exists()


# --- Signatures: matching or no longer --------------------------------------------------------------


def test_a_signature_matches_the_record_it_signed():
    request = submitted()
    html = page("pharmacist", request).content.decode()
    assert "Matches the record" in html
    assert NO_LONGER_MATCHES not in html


def test_a_request_changed_after_signing_no_longer_matches_on_its_page_and_its_trail():
    request = submitted()
    ExemptionRequest.objects.filter(pk=request.pk).update(dose="10 × 10⁶ cells/kg")
    detail = client_for("pharmacist").get(reverse("request-detail", args=[request.pk])).content.decode()
    trail = page("pharmacist", request).content.decode()
    assert "No longer matches: the record changed after it was signed" in detail
    assert "No longer matches: the record changed after it was signed" in trail


def test_a_decision_changed_after_signing_no_longer_matches():
    request = approved()
    Decision.objects.filter(request=request).update(reasons="Other reasons, written later.")
    detail = client_for("decider").get(reverse("request-detail", args=[request.pk])).content.decode()
    decision_section = detail.split('id="decision"')[1].split("</section>")[0]
    assert "No longer matches" in decision_section
    assert "No longer matches" in page("decider", request.decision).content.decode()


def test_a_released_batch_changed_after_signing_no_longer_matches():
    batch = released_batch()
    assert (
        "Matches the record"
        in client_for("pharmacist").get(reverse("batch-detail", args=[batch.pk])).content.decode()
    )
    Batch.objects.filter(pk=batch.pk).update(batch_number="CART-2026-999")
    detail = client_for("pharmacist").get(reverse("batch-detail", args=[batch.pk])).content.decode()
    assert "No longer matches: the record changed after it was signed" in detail
    assert "No longer matches" in page("pharmacist", batch).content.decode()


def test_the_co_signature_no_longer_matches_a_draft_edited_after_it_through_the_service():
    draft = new_draft()
    exemption_services.request_co_sign(
        actor=user("clinician"), request=draft, **signature_of(user("clinician"))
    )
    exemption_services.request_update(actor=user("pharmacist"), request=draft, dose="5 mL")
    assert "No longer matches" in page("pharmacist", draft).content.decode()


def test_the_decision_signature_is_over_the_decision_content():
    decision = approved().decision
    [signature] = signatures_for(obj=decision)
    assert signature.content_hash == content_hash(exemption_services.decision_content(decision))


def test_the_page_reads_the_same_number_of_queries_for_a_long_trail():
    draft = new_draft()
    client = client_for("pharmacist")
    with CaptureQueriesContext(connection) as short:
        client.get(url("audit-record-trail", draft))
    for dose in range(20):
        exemption_services.request_update(actor=user("pharmacist"), request=draft, dose=f"{dose} mL")
    with CaptureQueriesContext(connection) as long:
        client.get(url("audit-record-trail", draft))
    assert len(long) == len(short)


def _serious_reaction():
    event = adverse_event(plan_for(enrolled_patient()), **SERIOUS_REACTION)
    return event, ExpeditedReport.objects.get(adverse_event=event)


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsiders_get_404_on_the_trails_of_adverse_events_and_expedited_reports(outsider):
    event, report = _serious_reaction()
    expedited_report_submit(actor=user("clinician"), report=report, narrative="Admitted with fever.")
    client = client_for(outsider)
    statuses = {
        (r._meta.model_name, e): client.get(url(e, r)).status_code for r in (event, report) for e in ENDPOINTS
    }
    assert set(statuses.values()) == {404}, statuses


def test_the_authority_sees_an_expedited_reports_trail_once_it_is_submitted():
    event, report = _serious_reaction()
    assert page("clinician", report).status_code == 200
    assert page("reviewer", report).status_code == 404
    expedited_report_submit(actor=user("clinician"), report=report, narrative="Admitted with fever.")
    assert page("reviewer", report).status_code == 200
    assert page("reviewer", event).status_code == 200


def test_an_exceptional_release_justification_no_longer_matches_once_a_result_is_corrected():
    batch = make_batch()
    record_results(batch, viability=Decimal(55))
    manufacturing_services.exceptional_release_justify(
        actor=user("clinician"),
        batch=batch,
        **signature_of(user("clinician")),
        justification="No other option.",
    )
    assert "Matches the record" in page("clinician", batch).content.decode()
    result = batch.results.get(test__kind="potency")
    manufacturing_services.result_correct(
        actor=user("pharmacist"), result=result, value=Decimal(900), reason="Re-read the plate."
    )
    html = client_for("clinician").get(reverse("batch-detail", args=[batch.pk])).content.decode()
    assert "No longer matches: the record changed after it was signed" in html


def test_an_outcomes_trail_is_seen_by_the_hospital_and_the_authority_only():
    plan = plan_for(enrolled_patient())
    visit = plan.visits.order_by("due_on").first()
    with noon(visit.due_on):
        followup_services.visit_record(actor=user("clinician"), visit=visit, performed_on=visit.due_on)
        outcome = registry_services.outcome_record(actor=user("clinician"), visit=visit, **ALIVE)
        statuses = {
            username: page(username, outcome).status_code
            for username in ["clinician", "reviewer", *OUTSIDERS]
        }
    assert statuses == {"clinician": 200, "reviewer": 200} | dict.fromkeys(OUTSIDERS, 404)


# --- In the reader's language --------------------------------------------------------------------


def test_the_trail_in_french_names_the_actions_in_french_and_the_csv_keeps_the_code():
    draft = edited_draft()
    client = client_for("pharmacist")
    html = client.get(url("audit-record-trail", draft), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    rows = csv_rows(client.get(url("audit-record-trail-csv", draft), HTTP_ACCEPT_LANGUAGE="fr"))
    assert "<td>Modification</td>" in html and "<td>Edited</td>" not in html
    assert {row["action"] for row in rows} >= {"created", "edited"}
