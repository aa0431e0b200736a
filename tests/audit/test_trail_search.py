"""The search over the audit trail: for authority reviewers (their country's records only) and
administrators (everything); 404 for everyone else; never a patient's name."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from atmp_clinic.audit.services import record_event
from atmp_clinic.audit.trails import RECORD_TYPES, searchable_events
from atmp_clinic.exemptions.models import ExemptionRequest
from atmp_clinic.patients import services as patient_services
from atmp_clinic.patients.models import Patient
from atmp_clinic.registry.models import ExpeditedReport
from atmp_clinic.registry.services import expedited_report_submit
from tests.exemptions.conftest import client_for, new_draft, submitted, user
from tests.followup.conftest import enrolled_patient, plan_for
from tests.registry.test_services import SERIOUS_REACTION, adverse_event

pytestmark = pytest.mark.usefixtures("demo")


def search(username: str, **filters):
    return client_for(username).get(reverse("audit-search"), filters)


def found(username: str, **filters) -> str:
    response = search(username, **filters)
    assert response.status_code == 200
    return response.content.decode()


def demo_patient() -> Patient:
    return Patient.objects.select_related("identity", "user").get(user__username="patient")


@pytest.mark.parametrize("username", ["pharmacist", "clinician", "patient", "analyst", "pharmacist_b"])
def test_only_authority_reviewers_and_administrators_may_search(username):
    assert search(username).status_code == 404


@pytest.mark.parametrize(
    ("username", "linked"),
    [("reviewer", True), ("admin", True), ("pharmacist", False), ("clinician", False), ("analyst", False)],
)
def test_the_menu_links_the_search_for_those_who_may_use_it(username, linked):
    page = client_for(username).get(reverse("home"), follow=True).content.decode()
    assert (f'href="{reverse("audit-search")}"' in page) is linked


@pytest.mark.parametrize("username", ["reviewer", "assessor", "decider", "reviewer_b", "admin"])
def test_authority_reviewers_and_administrators_search(username):
    assert search(username).status_code == 200


def test_a_reviewer_finds_their_countrys_requests_and_another_countrys_reviewer_does_not():
    request = submitted()
    assert request.reference in found("reviewer", reference=request.reference)
    assert "0 events" in found("reviewer_b", reference=request.reference)


def test_a_reviewer_never_searches_another_countrys_events():
    german = ExemptionRequest.objects.filter(authority__country="DE").values_list("pk", flat=True)
    events = searchable_events(user=user("reviewer"))
    assert events.exists()
    assert not events.filter(content_type__model="exemptionrequest", object_id__in=list(german)).exists()
    assert set(events.values_list("content_type__model", flat=True)) <= {
        key.split(".")[1] for key in RECORD_TYPES
    }


def test_a_reviewer_does_not_find_a_draft_the_authority_was_not_sent():
    draft = new_draft()
    assert "0 events" in found("reviewer", reference=draft.reference)


def test_an_administrator_searches_every_country():
    assert "HE-NL-" in found("admin", record_type="exemptions.exemptionrequest")
    assert "HE-DE-" in found("admin", record_type="exemptions.exemptionrequest", reference="HE-DE-")


def test_a_reviewers_results_link_to_the_trail_of_their_record():
    request = submitted()
    trail = reverse("audit-record-trail", args=["exemptions.exemptionrequest", request.pk])
    assert trail in found("reviewer", reference=request.reference)


def test_the_actor_filter_keeps_that_persons_events():
    request = submitted()
    html = found("reviewer", reference=request.reference, actor="clinician")
    assert "1 event" in html
    assert "Co-signed" in html


def test_the_action_filter_takes_the_action_as_the_trail_names_it():
    request = submitted()
    html = found("reviewer", reference=request.reference, action="Co signed")
    assert "1 event" in html


def test_the_record_type_filter():
    request = submitted()
    assert "0 events" in found("reviewer", reference=request.reference, record_type="manufacturing.batch")


def test_the_date_range_is_in_utc_days_both_ends_included():
    request = submitted()
    today = timezone.now().date()
    assert "0 events" not in found(
        "reviewer", reference=request.reference, occurred_from=today, occurred_to=today
    )
    yesterday = today - timedelta(days=1)
    assert "0 events" in found("reviewer", reference=request.reference, occurred_to=yesterday)


def test_a_range_that_ends_before_it_starts_is_refused():
    today = timezone.now().date()
    response = search("reviewer", occurred_from=today, occurred_to=today - timedelta(days=2))
    assert response.status_code == 400
    assert "The end of the range is before its start." in response.content.decode()


def test_results_are_paginated_and_the_next_page_keeps_the_filters():
    html = found("admin", record_type="exemptions.exemptionrequest")
    assert "1–50 of " in html
    assert "record_type=exemptions.exemptionrequest&amp;page=2" in html
    assert "51–" in found("admin", record_type="exemptions.exemptionrequest", page=2)


# --- No patient's name -----------------------------------------------------------------------------


def test_a_patients_own_change_shows_them_by_pseudonym_never_by_name():
    patient = demo_patient()
    patient_services.reminder_channels_set(actor=patient.user, patient=patient, email=False, sms=True)
    html = found("admin", action="reminder_channels_changed")
    assert f"Patient {patient.pseudonym}" in html
    for name in (patient.user.first_name, patient.user.last_name, patient.identity.family_name):
        assert name not in html


def test_a_patient_acting_on_a_record_the_authority_sees_is_named_by_pseudonym():
    request = submitted()
    patient = demo_patient()
    record_event(actor=patient.user, obj=request, action="information_answered", reason="Answered.")
    for username in ("reviewer", "pharmacist"):
        trail = client_for(username).get(
            reverse("audit-record-trail", args=[request._meta.label_lower, request.pk])
        )
        assert f"Patient {patient.pseudonym}" in trail.content.decode()
        assert patient.identity.family_name not in trail.content.decode()
    html = found("reviewer", reference=request.reference)
    assert patient.identity.family_name not in html


def test_a_record_type_without_a_trail_page_is_shown_by_type_and_id_only(monkeypatch):
    """Should a model's description ever carry a name, the search would not show it: only the
    record types whose str() is checked below show their stored description."""
    patient = demo_patient()
    name = patient.identity.family_name
    monkeypatch.setattr(Patient, "__str__", lambda self: f"{self.identity.family_name} ({self.pseudonym})")
    record_event(actor=user("clinician"), obj=patient, action="identity_checked")
    html = found("admin", action="identity_checked")
    assert f"Patient {patient.pk}" in html
    assert name not in html
    assert "0 events" in found("admin", reference=name)


def test_no_record_type_with_a_trail_describes_itself_with_a_patients_name():
    patient = enrolled_patient()
    plan = plan_for(patient)
    event = adverse_event(plan, **SERIOUS_REACTION)
    report = ExpeditedReport.objects.get(adverse_event=event)
    expedited_report_submit(actor=user("clinician"), report=report, narrative="Admitted with fever.")
    visit = plan.visits.order_by("due_on").first()
    records = {
        "exemptions.exemptionrequest": plan.administration.request,
        "exemptions.decision": plan.administration.request.decision,
        "manufacturing.batch": plan.administration.batch,
        "followup.followupplan": plan,
        "followup.followupvisit": visit,
        "registry.adverseevent": event,
        "registry.expeditedreport": report,
    }
    identity = patient.identity
    for key, record in records.items():
        assert key in RECORD_TYPES
        described = str(record)
        assert identity.given_name not in described and identity.family_name not in described, key
