"""Every step of SPEC §4, and every refusal, as the people involved would meet them."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from atmp_clinic.accounts.models import Organisation, Role
from atmp_clinic.audit.models import AuditEvent, SignatureMeaning
from atmp_clinic.audit.selectors import chain_breaks, events_for, signatures_for
from atmp_clinic.audit.services import content_hash
from atmp_clinic.exemptions import services
from atmp_clinic.exemptions.models import ExemptionRequest, State
from atmp_clinic.exemptions.selectors import requests_visible_to
from atmp_clinic.exemptions.services import IncompleteRequest, TransitionConflict, TransitionRefused
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product
from tests.conftest import signature_of
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

pytestmark = pytest.mark.django_db


def reload(request: ExemptionRequest) -> ExemptionRequest:
    return ExemptionRequest.objects.get(pk=request.pk)


# --- drafts ---


def test_pharmacist_creates_a_draft_with_a_reference():
    assert new_draft().reference.startswith("HE-NL-")


def test_draft_is_addressed_to_the_hospitals_national_authority():
    assert new_draft().authority == Organisation.objects.get(kind="authority", country="NL")


def test_clinician_cannot_create_a_draft():
    with pytest.raises(PermissionDenied):
        services.request_create(
            actor=user("clinician"),
            patient=Patient.objects.get(user__username="patient"),
            product=Product.objects.get(name="CD19 CAR-T cells"),
        )


def test_draft_for_another_hospitals_patient_is_refused():
    with pytest.raises(PermissionDenied):
        services.request_create(
            actor=user("pharmacist"),
            patient=Patient.objects.get(user__username="patient_b"),
            product=Product.objects.get(name="CD19 CAR-T cells"),
        )


def test_missing_fields_are_listed_field_by_field():
    draft = new_draft(indication_code="", criterion_custom_made=False, qualified_person="")
    missing = services.missing_for_submission(request=draft)
    assert set(missing) == {"indication_code", "criterion_custom_made", "qualified_person"}
    assert missing["criterion_custom_made"] == "Attest the criterion: custom-made for an individual patient."


def test_bad_icd10_code_is_refused_with_an_example():
    with pytest.raises(ValidationError, match=r"C83\.3"):
        new_draft(indication_code="lymphoma")


def test_patient_without_treatment_consent_cannot_be_submitted():
    patient = Patient.objects.get(user__username="patient")
    patient.consents.filter(kind="treatment").update(withdrawn_on=timezone.localdate())
    assert "patient" in services.missing_for_submission(request=new_draft())


def test_pharmacist_edits_a_draft_and_the_change_is_audited():
    draft = new_draft()
    services.request_update(actor=user("pharmacist"), request=draft, dose="2 × 10⁶ CAR+ T cells/kg")
    edit = events_for(obj=draft).get(action="edited")
    assert edit.before == {"dose": "1 × 10⁶ CAR+ T cells/kg"} and edit.after == {
        "dose": "2 × 10⁶ CAR+ T cells/kg"
    }


def test_submitted_request_can_no_longer_be_edited():
    with pytest.raises(TransitionConflict, match="can no longer be edited"):
        services.request_update(actor=user("pharmacist"), request=submitted(), dose="more")


# --- signatures and submission ---


def test_physician_cannot_sign_an_incomplete_request():
    with pytest.raises(IncompleteRequest) as refused:
        services.request_co_sign(
            actor=user("clinician"), request=new_draft(dose=""), **signature_of(user("clinician"))
        )
    assert refused.value.missing == {"dose": "Give the dose."}


def test_only_the_responsible_physician_co_signs():
    with pytest.raises(PermissionDenied):
        services.request_co_sign(
            actor=user("clinician_2"), request=new_draft(), **signature_of(user("clinician_2"))
        )


def test_wrong_password_gives_no_signature():
    draft = new_draft()
    with pytest.raises(ValidationError, match="password is not correct"):
        services.request_co_sign(actor=user("clinician"), request=draft, password="guess")
    assert not signatures_for(obj=draft).exists()


def test_submission_needs_the_physicians_signature():
    with pytest.raises(TransitionRefused, match="responsible physician has not signed"):
        services.request_submit(
            actor=user("pharmacist"), request=new_draft(), **signature_of(user("pharmacist"))
        )


def test_a_change_after_the_physician_signed_needs_a_new_signature():
    draft = new_draft()
    services.request_co_sign(actor=user("clinician"), request=draft, **signature_of(user("clinician")))
    services.request_update(actor=user("pharmacist"), request=draft, frequency="Two infusions")
    with pytest.raises(TransitionRefused, match="changed since they signed"):
        services.request_submit(actor=user("pharmacist"), request=draft, **signature_of(user("pharmacist")))


def test_submission_is_signed_by_physician_and_pharmacist_over_the_same_content():
    request = submitted()
    signatures = signatures_for(obj=request)
    assert [s.meaning for s in signatures] == [SignatureMeaning.CO_SIGNED, SignatureMeaning.SUBMITTED]
    assert {s.content_hash for s in signatures} == {content_hash(services.request_content(request))}


def test_signature_carries_the_printed_name():
    assert signatures_for(obj=submitted()).first().printed_name == "Pieter Jansen"


def test_authority_sees_a_request_only_from_its_submission():
    draft = new_draft()
    before = requests_visible_to(user=user("reviewer")).filter(pk=draft.pk).exists()
    services.request_co_sign(actor=user("clinician"), request=draft, **signature_of(user("clinician")))
    services.request_submit(actor=user("pharmacist"), request=draft, **signature_of(user("pharmacist")))
    after = requests_visible_to(user=user("reviewer")).filter(pk=draft.pk).exists()
    assert (before, after) == (False, True)


@pytest.mark.parametrize("username", ["pharmacist_2", "pharmacist_b", "reviewer_b", "analyst", "patient"])
def test_nobody_else_sees_the_request(username):
    assert not requests_visible_to(user=user(username)).filter(pk=submitted().pk).exists()


# --- validation ---


def test_validator_validates():
    assert (
        reload(services.request_validate(actor=user("reviewer"), request=submitted())).state
        == State.UNDER_ASSESSMENT
    )


@pytest.mark.parametrize("username", ["assessor", "decider", "reviewer_b", "pharmacist"])
def test_only_a_validator_of_the_authority_validates(username):
    with pytest.raises(PermissionDenied):
        services.request_validate(actor=user(username), request=submitted())


def test_validator_returns_an_incomplete_request_and_the_hospital_resubmits():
    request = services.request_return(
        actor=user("reviewer"), request=submitted(), reasons="Attach the QP's CV."
    )
    services.request_update(actor=user("pharmacist"), request=request, quality_summary="With the QP's CV.")
    services.request_co_sign(actor=user("clinician"), request=request, **signature_of(user("clinician")))
    services.request_submit(actor=user("pharmacist"), request=request, **signature_of(user("pharmacist")))
    assert [e.action for e in events_for(obj=request)][-3:] == ["edited", "co_signed", "resubmitted"]


def test_returning_needs_reasons():
    with pytest.raises(ValidationError, match="Say what is missing"):
        services.request_return(actor=user("reviewer"), request=submitted(), reasons=" ")


# --- assessment and information ---


def test_two_assessments_make_the_request_ready_for_decision():
    assert ready_for_decision().state == State.READY_FOR_DECISION


def test_one_assessor_cannot_record_both_assessments():
    request = under_assessment()
    services.assessment_record(
        actor=user("assessor"), request=request, kind="quality", report="ok", recommendation="approve"
    )
    with pytest.raises(TransitionRefused, match="another assessor"):
        services.assessment_record(
            actor=user("assessor"), request=request, kind="clinical", report="ok", recommendation="approve"
        )


def test_an_assessment_is_recorded_once():
    request = under_assessment()
    services.assessment_record(
        actor=user("assessor"), request=request, kind="quality", report="ok", recommendation="approve"
    )
    with pytest.raises(TransitionConflict, match="quality assessment of this request is already recorded"):
        services.assessment_record(
            actor=user("assessor2"), request=request, kind="quality", report="ok", recommendation="approve"
        )


def test_validator_cannot_assess():
    with pytest.raises(PermissionDenied):
        services.assessment_record(
            actor=user("reviewer"),
            request=under_assessment(),
            kind="quality",
            report="ok",
            recommendation="approve",
        )


def test_information_request_gives_the_hospital_the_authoritys_deadline():
    asked = services.request_ask_information(
        actor=user("assessor"), request=under_assessment(), questions="Potency data?"
    )
    assert asked.answer_due_on == timezone.localdate() + timedelta(days=30)


def test_hospital_answers_and_the_assessment_resumes():
    request = under_assessment()
    services.request_ask_information(actor=user("assessor"), request=request, questions="Potency data?")
    services.request_answer_information(actor=user("pharmacist"), request=request, answer="Attached.")
    assert reload(request).state == State.UNDER_ASSESSMENT


def test_unanswered_questions_lapse_after_the_deadline():
    request = under_assessment()
    services.request_ask_information(actor=user("assessor"), request=request, questions="Potency data?")
    lapsed = services.lapse_unanswered(today=timezone.localdate() + timedelta(days=31))
    assert (request.reference in lapsed, reload(request).state) == (True, State.LAPSED)


def test_nothing_lapses_before_the_deadline():
    request = under_assessment()
    services.request_ask_information(actor=user("assessor"), request=request, questions="Potency data?")
    assert request.reference not in services.lapse_unanswered(today=timezone.localdate() + timedelta(days=30))
    assert reload(request).state == State.INFORMATION_REQUESTED


# --- decision ---


def test_decision_is_signed_and_sets_validity_and_follow_up():
    decision = approved().decision
    signature = signatures_for(obj=decision).get()
    assert (signature.meaning, decision.follow_up_years, decision.valid_until) == (
        SignatureMeaning.DECIDED,
        15,  # lentiviral CAR-T: integrating vector
        timezone.localdate() + timedelta(days=365),
    )


def test_decider_who_assessed_the_request_is_refused():
    both = member(
        role=Role.REVIEWER,
        organisation=Organisation.objects.get(kind="authority", country="NL"),
        is_assessor=True,
        is_decider=True,
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
    with pytest.raises(TransitionRefused, match="four-eyes"):
        services.request_decide(
            actor=both, request=request, **signature_of(both), outcome="approved", reasons="ok"
        )


def test_approval_with_conditions_needs_the_conditions():
    with pytest.raises(ValidationError, match="Write the conditions"):
        services.request_decide(
            actor=user("decider"), request=ready_for_decision(), **signature_of(user("decider")),
            outcome="approved_with_conditions", reasons="ok",
        )  # fmt: skip


def test_rejection_sets_no_validity():
    request = ready_for_decision()
    decision = services.request_decide(
        actor=user("decider"),
        request=request,
        **signature_of(user("decider")),
        outcome="rejected",
        reasons="Benefit unproven.",
    )
    assert (reload(request).state, decision.valid_until) == (State.REJECTED, None)


def test_a_second_decision_gets_a_clear_conflict_message():
    request = approved()
    with pytest.raises(TransitionConflict, match="approved now, so it cannot be decided"):
        services.request_decide(
            actor=user("decider"),
            request=request,
            **signature_of(user("decider")),
            outcome="rejected",
            reasons="x",
        )


def test_deciding_before_the_assessments_is_refused():
    with pytest.raises(TransitionConflict, match="under assessment now"):
        services.request_decide(
            actor=user("decider"),
            request=under_assessment(),
            **signature_of(user("decider")),
            outcome="approved",
            reasons="x",
        )


# --- withdrawal, suspension, revocation ---


def test_hospital_withdraws_before_a_decision():
    assert services.request_withdraw(
        actor=user("pharmacist"), request=under_assessment(), reason="Patient improved."
    ).state == (State.WITHDRAWN)


def test_no_withdrawal_after_the_decision():
    with pytest.raises(TransitionConflict):
        services.request_withdraw(actor=user("pharmacist"), request=approved(), reason="Too late.")


def test_authority_suspends_then_revokes_with_reasons():
    request = approved()
    services.permit_suspend(actor=user("decider"), request=request, reason="Sterility failure at the site.")
    services.permit_revoke(actor=user("decider"), request=request, reason="Site authorisation withdrawn.")
    assert reload(request).state == State.REVOKED


def test_suspension_needs_a_reason():
    with pytest.raises(ValidationError, match="Give the reason"):
        services.permit_suspend(actor=user("decider"), request=approved(), reason="")


def test_hospital_cannot_suspend():
    with pytest.raises(PermissionDenied):
        services.permit_suspend(actor=user("pharmacist"), request=approved(), reason="x")


# --- audit ---


def test_every_step_is_audited_in_order():
    request = approved()
    assert [e.action for e in events_for(obj=request)] == [
        "created", "co_signed", "submitted", "validated", "quality_assessment_recorded",
        "clinical_assessment_recorded", "ready_for_decision", "decided",
    ]  # fmt: skip


def test_audit_chain_holds_after_a_whole_review():
    approved()
    assert chain_breaks() == []


def test_the_lifecycle_leaves_an_unbroken_audit_chain():
    """How a changed, removed or reordered event is found: tests/audit/test_append_only.py."""
    approved()
    assert chain_breaks() == []


def test_audit_events_refuse_to_change_through_the_orm():
    event = (
        AuditEvent.objects.latest("id") if AuditEvent.objects.exists() else events_for(obj=new_draft()).get()
    )
    with pytest.raises(Exception, match="never changed"):
        event.save()


# --- what each actor may do now ---


def test_available_transitions_follow_role_and_state():
    request = submitted()
    assert (
        services.available_transitions(actor=user("reviewer"), request=request),
        services.available_transitions(actor=user("pharmacist"), request=request),
        services.available_transitions(actor=user("assessor"), request=request),
    ) == (["validate", "return"], ["withdraw"], [])


def test_a_draft_can_be_withdrawn_before_it_was_ever_sent():
    draft = services.request_withdraw(actor=user("pharmacist"), request=new_draft(), reason="Not needed.")
    assert (reload(draft).state, reload(draft).submitted_at) == (State.WITHDRAWN, None)


def test_no_request_for_a_patient_who_died():
    patient = Patient.objects.get(user__username="patient")
    patient.date_of_death = timezone.localdate()
    patient.save()
    with pytest.raises(ValidationError, match="This patient has died"):
        new_draft()


def test_a_modification_must_change_an_approved_permit_of_the_hospital():
    with pytest.raises(ValidationError, match="approved permit of your own hospital"):
        new_draft(kind="substantial_modification", modifies=submitted())


def test_a_modification_of_an_approved_permit_is_filed():
    permit = approved()
    assert new_draft(kind="substantial_modification", modifies=permit).modifies == permit


def test_an_initial_request_names_no_permit_in_words():
    with pytest.raises(ValidationError, match="Only a substantial modification names the permit"):
        new_draft(kind="initial", modifies=approved())


def test_an_approval_names_the_follow_up_template_of_the_products_class():
    assert approved().decision.follow_up_template == "integrating_vector"  # lentiviral CAR-T


def test_the_decider_may_set_another_template_and_duration():
    decision = services.request_decide(
        actor=user("decider"), request=ready_for_decision(), **signature_of(user("decider")), outcome="approved", reasons="ok",
        follow_up_years=10, follow_up_template="somatic_cell_therapy",
    )  # fmt: skip
    assert (decision.follow_up_years, decision.follow_up_template) == (10, "somatic_cell_therapy")


@pytest.mark.parametrize(
    ("name", "template"),
    [("Allogeneic mesenchymal stromal cells", "somatic_cell_therapy"),
     ("Chondrozyten auf Kollagenmatrix", "tissue_engineered"),
     ("AAV2-RPE65 subretinal gene therapy", "non_integrating_gene_therapy"),
     ("CD19 CAR-T cells", "integrating_vector")],
)  # fmt: skip
def test_default_template_follows_spec_section_3(name, template):
    assert services.default_follow_up_template(Product.objects.get(name=name)) == template
