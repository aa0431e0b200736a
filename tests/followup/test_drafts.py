"""A clinician keeps the record of a visit as a draft: incomplete is fine, it comes back in a later
session as left, and it is not a recorded visit until they record it. Only they, in their hospital,
see it."""

import pytest
from django.test import Client
from django.urls import reverse

from atmp_clinic.accounts.models import Role
from atmp_clinic.audit.models import AuditEvent
from atmp_clinic.followup import services
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit, VisitDraft
from tests.conftest import log_in
from tests.exemptions.conftest import client_for, user
from tests.factories import member
from tests.followup.conftest import enrolled_patient, plan_for
from tests.followup.test_views import noon

pytestmark = pytest.mark.django_db

NOTE = "Patient phoned twice; bloods taken at the GP."


@pytest.fixture
def plan() -> FollowUpPlan:
    return plan_for(enrolled_patient())


@pytest.fixture
def visit(plan) -> FollowUpVisit:
    """The day-7 visit; the test runs on its due day."""
    visit = plan.visits.order_by("due_on").first()
    with noon(visit.due_on):
        yield visit


def save_draft(client, visit, **data):
    return client.post(reverse("visit-record-draft", args=[visit.pk]), data)


def record_form(client, visit) -> str:
    html = client.get(reverse("visit-detail", args=[visit.pk])).content.decode()
    start = html.index('id="step-record"')
    return html[start : html.index("</section>", start)]


def test_it_saves_an_incomplete_record_and_gives_it_back_in_another_session(visit):
    response = save_draft(client_for("clinician"), visit, note=NOTE)
    assert response.status_code == 302
    form = record_form(client_for("clinician"), visit)  # a new login, as on another day
    assert NOTE in form and "Your draft, saved" in form


def test_it_keeps_the_date_as_typed(visit):
    save_draft(client_for("clinician"), visit, performed_on=str(visit.due_on))
    assert f'value="{visit.due_on:%Y-%m-%d}"' in record_form(client_for("clinician"), visit)


def test_a_draft_is_not_a_recorded_visit(visit):
    save_draft(client_for("clinician"), visit, performed_on=str(visit.due_on), note=NOTE)
    visit.refresh_from_db()
    assert (visit.status, visit.performed_on, visit.recorded_by, visit.note) == ("scheduled", None, None, "")


def test_saving_a_draft_writes_nothing_to_the_audit_trail(visit):
    before = AuditEvent.objects.count()
    save_draft(client_for("clinician"), visit, note=NOTE)
    assert AuditEvent.objects.count() == before


def test_a_date_that_is_not_a_date_stops_the_draft(visit):
    response = save_draft(client_for("clinician"), visit, performed_on="31/02/2026", note=NOTE)
    assert response.status_code == 400
    assert not VisitDraft.objects.exists()


def test_recording_still_needs_the_date(visit):
    client = client_for("clinician")
    save_draft(client, visit, note=NOTE)
    response = client.post(reverse("visit-step", args=[visit.pk, "record"]), {"note": NOTE})
    assert response.status_code == 400
    visit.refresh_from_db()
    assert visit.status == "scheduled"


def test_recording_the_visit_audits_it_and_discards_the_draft(visit):
    client = client_for("clinician")
    save_draft(client, visit, note=NOTE)
    client.post(reverse("visit-step", args=[visit.pk, "record"]), {"performed_on": str(visit.due_on)})
    assert AuditEvent.objects.filter(action="visit_recorded", object_id=visit.pk).exists()
    assert not VisitDraft.objects.filter(visit=visit).exists()


@pytest.mark.parametrize("who", ["clinician_2", "clinician_b", "pharmacist", "reviewer"])
def test_only_the_hospitals_clinicians_save_a_draft(visit, who):
    assert save_draft(client_for(who), visit, note=NOTE).status_code == 404
    assert not VisitDraft.objects.exists()


@pytest.mark.parametrize("who", ["clinician_2", "clinician_b"])
def test_other_hospitals_get_404_for_the_visit_with_a_draft(visit, who):
    save_draft(client_for("clinician"), visit, note=NOTE)
    assert client_for(who).get(reverse("visit-detail", args=[visit.pk])).status_code == 404


def test_a_colleague_of_the_same_hospital_does_not_see_the_draft(visit):
    save_draft(client_for("clinician"), visit, note=NOTE)
    colleague = member(role=Role.CLINICIAN, organisation=visit.plan.patient.hospital)
    assert NOTE not in record_form(log_in(Client(), colleague), visit)


def test_a_draft_kept_for_another_hospital_is_not_shown_in_this_one(visit):
    clinician = user("clinician")
    services.visit_draft_save(actor=clinician, visit=visit, form=VisitDraft.Form.RECORD, data={"note": NOTE})
    VisitDraft.objects.update(hospital=user("clinician_b").memberships.get().organisation)
    assert NOTE not in record_form(client_for("clinician"), visit)
