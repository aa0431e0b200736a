"""Collection → batch → release testing → release → administration, and every refusal on the way."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from atmp_clinic.accounts.models import Organisation, Role
from atmp_clinic.audit.selectors import events_for
from atmp_clinic.exemptions import services as exemption_services
from atmp_clinic.exemptions.models import Notification
from atmp_clinic.manufacturing import services
from atmp_clinic.manufacturing.models import Batch
from atmp_clinic.manufacturing.services import ChainRefused
from tests.conftest import signature_of
from tests.exemptions.conftest import PASSWORD, approved, submitted, user
from tests.factories import member
from tests.manufacturing.conftest import collect, make_batch, record_results, released_batch

pytestmark = pytest.mark.django_db


def test_for_kind(batch: Batch, kind: str):
    return batch.request.product.release_tests.get(kind=kind)


test_for_kind.__test__ = False  # a helper, not a test


def give(batch: Batch, **overrides):
    fields = {
        "administered_at": timezone.now(),
        "dose": "1 × 10⁶ CAR+ T cells/kg",
        "patient_code": batch.request.patient.pseudonym,
        "batch_code": batch.batch_number,
    } | overrides
    return services.administration_record(actor=user("clinician"), batch=batch, **fields)


# --- collection ---


def test_no_collection_before_approval():
    with pytest.raises(ChainRefused, match="submitted: only an approved request"):
        collect(submitted())


def test_no_collection_for_a_suspended_permit():
    request = approved()
    exemption_services.permit_suspend(actor=user("decider"), request=request, reason="Site inspection.")
    with pytest.raises(ChainRefused, match="suspended"):
        collect(request)


def test_a_collection_in_the_future_is_refused():
    with pytest.raises(ValidationError, match="cannot be in the future"):
        collect(collected_at=timezone.now() + timedelta(hours=2))


def test_a_donation_identifier_is_recorded_once():
    collect()
    with pytest.raises(ValidationError, match="already recorded"):
        collect()


def test_a_mistyped_donation_identifier_is_refused_and_nothing_is_saved():
    request = approved()
    with pytest.raises(ValidationError, match="check character does not match"):
        collect(request, check_character="Z")
    assert not request.collections.exists()


def test_another_hospital_cannot_record_a_collection():
    with pytest.raises(PermissionDenied):
        services.collection_record(
            actor=user("clinician_2"), request=approved(), donation_identifier="NL000123G123498654321",
            check_character="H", material="x", collected_at=timezone.now(), collection_site="x",
        )  # fmt: skip


# --- batch and results ---


def test_a_batch_cannot_be_made_before_its_collection():
    collection = collect()
    with pytest.raises(ValidationError, match="before its starting material was collected"):
        make_batch(collection, manufactured_on=collection.collected_at.date() - timedelta(days=1))


def test_a_product_code_must_agree_with_the_expiry_date():
    with pytest.raises(ValidationError, match="expires on 15 March 2027"):
        make_batch(product_code="AE0001V000120270315", expires_on=timezone.localdate() + timedelta(days=10))


def test_only_pharmacists_make_batches():
    with pytest.raises(PermissionDenied):
        services.batch_create(
            actor=user("clinician"), collection=collect(), batch_number="B1",
            manufactured_on=timezone.localdate(), expires_on=timezone.localdate(),
        )  # fmt: skip


def test_pass_or_fail_is_computed_from_the_specification():
    batch = make_batch()
    at_limit = services.result_record(actor=user("pharmacist"), batch=batch, test=test_for_kind(batch, "viability"),
                                      value=Decimal(70))  # fmt: skip
    below = services.result_record(actor=user("pharmacist"), batch=batch, test=test_for_kind(batch, "potency"),
                                   value=Decimal(499))  # fmt: skip
    seen = services.result_record(actor=user("pharmacist"), batch=batch, test=test_for_kind(batch, "sterility"),
                                  observation="no growth")  # fmt: skip
    assert (at_limit.passed, below.passed, seen.passed) == (True, False, True)


def test_viability_over_100_percent_is_refused():
    batch = make_batch()
    with pytest.raises(ValidationError, match="cannot be over 100"):
        services.result_record(actor=user("pharmacist"), batch=batch, test=test_for_kind(batch, "viability"),
                               value=Decimal(101))  # fmt: skip


def test_a_negative_value_is_refused():
    batch = make_batch()
    with pytest.raises(ValidationError, match="cannot be negative"):
        services.result_record(actor=user("pharmacist"), batch=batch, test=test_for_kind(batch, "endotoxin"),
                               value=Decimal(-1))  # fmt: skip


def test_a_test_of_another_product_is_refused():
    from atmp_clinic.products.models import ReleaseTest

    other = ReleaseTest.objects.exclude(product__name="CD19 CAR-T cells").first()
    with pytest.raises(ValidationError, match="not in the specification"):
        services.result_record(actor=user("pharmacist"), batch=make_batch(), test=other, value=Decimal(1))


def test_a_correction_keeps_the_old_result_in_the_audit_trail():
    batch = make_batch()
    result = services.result_record(actor=user("pharmacist"), batch=batch, test=test_for_kind(batch, "viability"),
                                    value=Decimal(19))  # fmt: skip
    services.result_correct(
        actor=user("pharmacist"), result=result, value=Decimal(91), reason="Typed 19 for 91."
    )
    correction = events_for(obj=batch).get(action="result_corrected")
    assert (correction.before["result"], correction.after["result"], correction.reason) == (
        "19 %",
        "91 %",
        "Typed 19 for 91.",
    )


# --- release ---


def test_release_needs_every_result():
    batch = make_batch()
    with pytest.raises(ChainRefused, match=r"Results are missing for: .*Viability"):
        services.batch_release(actor=user("pharmacist"), batch=batch, **signature_of(user("pharmacist")))


def test_out_of_specification_blocks_release_and_says_which():
    batch = make_batch()
    record_results(batch, viability=Decimal(55))
    with pytest.raises(
        ChainRefused, match=r"Out of specification: Viability \(7-AAD flow cytometry\) \(55 %\)"
    ):
        services.batch_release(actor=user("pharmacist"), batch=batch, **signature_of(user("pharmacist")))


def test_a_pharmacist_who_is_not_a_qualified_person_cannot_release():
    plain = member(
        role=Role.PHARMACIST,
        organisation=Organisation.objects.get(name="Amstel Universitair Medisch Centrum"),
    )
    plain.set_password(PASSWORD)
    plain.save()
    batch = make_batch()
    record_results(batch)
    with pytest.raises(PermissionDenied, match="qualified person"):
        services.batch_release(actor=plain, batch=batch, **signature_of(plain))


def test_release_is_signed_by_the_qualified_person():
    from atmp_clinic.audit.selectors import signatures_for

    batch = released_batch()
    signature = signatures_for(obj=batch).get()
    assert (batch.status, signature.meaning, signature.printed_name) == (
        "released",
        "released",
        "Sanne de Vries",
    )


def test_exceptional_release_justified_by_the_physician_tells_the_authority():
    batch = make_batch()
    record_results(batch, viability=Decimal(55))
    services.exceptional_release_justify(actor=user("clinician"), batch=batch, **signature_of(user("clinician")),
                                         justification="No other option; viability 55 % is clinically acceptable.")  # fmt: skip
    released = services.batch_release(
        actor=user("pharmacist"), batch=batch, **signature_of(user("pharmacist"))
    )
    told = set(
        Notification.objects.filter(request=batch.request, event__action="exceptional_release").values_list(
            "recipient__username", flat=True
        )
    )
    assert released.status == "exceptionally_released" and told == {
        "reviewer",
        "assessor",
        "assessor2",
        "decider",
    }
    assert events_for(obj=batch.request).filter(action="exceptional_release").exists()


def test_only_the_responsible_physician_justifies_an_exceptional_release():
    batch = make_batch()
    record_results(batch, viability=Decimal(55))
    with pytest.raises(PermissionDenied):
        services.exceptional_release_justify(
            actor=user("pharmacist"), batch=batch, **signature_of(user("pharmacist")), justification="x"
        )


def test_a_result_changed_after_the_justification_needs_it_again():
    batch = make_batch()
    record_results(batch, viability=Decimal(55))
    services.exceptional_release_justify(
        actor=user("clinician"), batch=batch, **signature_of(user("clinician")), justification="ok"
    )
    result = batch.results.get(test__kind="potency")
    services.result_correct(
        actor=user("pharmacist"), result=result, value=Decimal(900), reason="Re-read the plate."
    )
    with pytest.raises(ChainRefused, match="exceptional release"):
        services.batch_release(actor=user("pharmacist"), batch=batch, **signature_of(user("pharmacist")))


def test_no_exceptional_release_when_every_result_passes():
    batch = make_batch()
    record_results(batch)
    with pytest.raises(ChainRefused, match="no exceptional release is needed"):
        services.exceptional_release_justify(
            actor=user("clinician"), batch=batch, **signature_of(user("clinician")), justification="x"
        )


# --- administration ---


def test_the_bedside_check_refuses_another_patients_code():
    with pytest.raises(ChainRefused, match="patient code does not match"):
        give(released_batch(), patient_code="P-0000-0000")


def test_the_bedside_check_refuses_another_batch_code():
    with pytest.raises(ChainRefused, match="batch code does not match"):
        give(released_batch(), batch_code="CART-2026-999")


def test_codes_are_compared_without_spaces_or_case():
    batch = released_batch()
    administration = give(
        batch, patient_code=batch.request.patient.pseudonym.lower(), batch_code=" cart 2026 001 "
    )
    assert administration.batch == batch


def test_a_batch_not_released_cannot_be_given():
    batch = make_batch()
    with pytest.raises(ChainRefused, match="in release testing: it cannot be given"):
        give(batch)


def test_nothing_is_given_under_a_suspended_permit():
    batch = released_batch()
    exemption_services.permit_suspend(actor=user("decider"), request=batch.request, reason="Inspection.")
    with pytest.raises(ChainRefused, match="suspended"):
        give(batch)


def test_a_single_administration_permit_allows_one():
    first = released_batch()
    give(first)
    second_collection = collect(
        first.request, donation_identifier="NL000123EU20260000346", check_character=""
    )
    second = make_batch(second_collection, batch_number="CART-2026-002")
    record_results(second)
    services.batch_release(actor=user("pharmacist"), batch=second, **signature_of(user("pharmacist")))
    with pytest.raises(ChainRefused, match="single administration"):
        give(second)


def test_an_administration_before_the_release_is_refused():
    batch = released_batch()
    with pytest.raises(ValidationError, match="before the batch was released"):
        give(batch, administered_at=batch.released_at - timedelta(hours=1))


def test_only_clinicians_record_administrations():
    batch = released_batch()
    with pytest.raises(PermissionDenied):
        services.administration_record(actor=user("pharmacist"), batch=batch, administered_at=timezone.now(),
                                       dose="x", patient_code="x", batch_code="x")  # fmt: skip


def test_administration_is_notified_where_the_authority_requires_it():
    Organisation.objects.filter(kind="authority", country="NL").update(notify_each_administration=True)
    batch = released_batch()
    give(batch)
    notified = Notification.objects.filter(request=batch.request, event__action="administered").values_list(
        "recipient__username", flat=True
    )
    assert set(notified) == {"reviewer", "assessor", "assessor2", "decider"}


def test_administration_is_not_notified_where_the_rules_do_not_ask():
    batch = released_batch()
    give(batch)
    assert not Notification.objects.filter(request=batch.request, event__action="administered").exists()


def test_the_audit_trail_of_release_and_administration():
    batch = released_batch()
    give(batch)
    actions = [event.action for event in events_for(obj=batch)]
    assert actions == ["created", *["result_recorded"] * 7, "released", "administered"]


@pytest.mark.parametrize(
    ("username", "sees"),
    [("pharmacist", True), ("clinician", True), ("reviewer", True), ("decider", True),
     ("pharmacist_2", False), ("reviewer_b", False), ("analyst", False), ("patient", False)],
)  # fmt: skip
def test_who_sees_a_batch(username, sees):
    from atmp_clinic.accounts.selectors import visible_to

    batch = make_batch()
    assert visible_to(user=user(username), queryset=Batch.objects.filter(pk=batch.pk)).exists() == sees


def test_an_administration_in_the_minute_of_release_is_accepted():
    batch = released_batch()
    same_minute = batch.released_at.replace(second=0, microsecond=0)
    assert give(batch, administered_at=same_minute).administered_at == same_minute


# --- corrections ---


def test_a_collection_record_is_corrected_with_its_reason_and_history():
    collection = collect()
    services.collection_correct(actor=user("clinician"), collection=collection, collection_site="Apheresis unit 2",
                                reason="Wrong unit typed.")  # fmt: skip
    event = events_for(obj=collection.request).get(action="collection_corrected")
    assert (event.before, event.after, event.reason) == (
        {"collection_site": "Apheresis unit, Amstel UMC"},
        {"collection_site": "Apheresis unit 2"},
        "Wrong unit typed.",
    )


def test_a_donation_identifier_never_changes():
    with pytest.raises(ValidationError, match="never changes"):
        services.collection_correct(actor=user("clinician"), collection=collect(), reason="x",
                                    donation_identifier="NL000123EU20260000001")  # fmt: skip


def test_a_correction_needs_a_reason_and_a_change():
    collection = collect()
    with pytest.raises(ValidationError, match="Say why"):
        services.collection_correct(
            actor=user("clinician"), collection=collection, reason=" ", material="Marrow"
        )
    with pytest.raises(ValidationError, match="Nothing would change"):
        services.collection_correct(actor=user("clinician"), collection=collection, reason="x",
                                    material=collection.material)  # fmt: skip


def test_a_collection_cannot_be_moved_after_its_batch_was_made():
    batch = make_batch()  # made two days ago
    with pytest.raises(ValidationError, match="batch was made from it on an earlier day"):
        services.collection_correct(
            actor=user("clinician"), collection=batch.collection, reason="x", collected_at=timezone.now()
        )


def test_an_administration_dose_is_corrected_by_a_clinician():
    batch = released_batch()
    administration = give(batch)
    services.administration_correct(actor=user("clinician"), administration=administration, dose="0.9 × 10⁶ /kg",
                                    reason="The bag held less.")  # fmt: skip
    administration.refresh_from_db()
    assert administration.dose == "0.9 × 10⁶ /kg"
    assert events_for(obj=batch).filter(action="administration_corrected").exists()


def test_which_batch_went_to_whom_cannot_be_corrected():
    administration = give(released_batch())
    with pytest.raises(ValidationError, match="cannot be corrected: patient"):
        services.administration_correct(actor=user("clinician"), administration=administration, reason="x",
                                        patient=administration.patient)  # fmt: skip


def test_only_clinicians_correct_administrations():
    administration = give(released_batch())
    with pytest.raises(PermissionDenied):
        services.administration_correct(actor=user("pharmacist"), administration=administration, dose="x",
                                        reason="x")  # fmt: skip
