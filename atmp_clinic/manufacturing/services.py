"""Writes along the chain of identity. Each checks who acts, locks what it changes, and audits the
step on the batch and, for what the authority must see, on the request."""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_noop
from guardian.shortcuts import assign_perm

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.accounts.selectors import active_membership, has_role_in
from atmp_clinic.accounts.services import organisation_group
from atmp_clinic.audit.models import SignatureMeaning
from atmp_clinic.audit.selectors import signatures_for
from atmp_clinic.audit.services import content_hash, record_event, sign
from atmp_clinic.exemptions.models import APPROVED_STATES, ExemptionRequest
from atmp_clinic.exemptions.notifications import notify
from atmp_clinic.followup.services import plan_create
from atmp_clinic.products.models import ReleaseTest

from .identifiers import normalise, validate_donation_identifier, validate_product_code
from .models import Administration, Batch, Collection, ReleaseResult

HOSPITAL_STAFF = {Role.PHARMACIST, Role.CLINICIAN}
NOT_YOUR_BATCH = "This is not yours to record: it belongs to another hospital or role."
NOT_APPROVED = gettext_noop(
    "The request is %(state)s: only an approved request's product may be made or given."
)
# Each date's refusal as a whole sentence, so that each language can word it.
IN_FUTURE = {
    "collection": gettext_noop("The collection cannot be in the future."),
    "date of manufacture": gettext_noop("The date of manufacture cannot be in the future."),
    "administration": gettext_noop("The administration cannot be in the future."),
}


class ChainRefused(Exception):
    """A step refused for a reason a person must read (out of specification, identity mismatch…)."""


def _require(actor: User, request: ExemptionRequest, roles: set[str]) -> None:
    if not has_role_in(user=actor, organisation=request.hospital, roles=roles):
        raise PermissionDenied(NOT_YOUR_BATCH)


def _require_approved(request: ExemptionRequest) -> None:
    if request.state not in APPROVED_STATES:
        raise ChainRefused(gettext(NOT_APPROVED) % {"state": request.get_state_display().lower()})


def _not_in_future(value: date | datetime, field: str, what: str) -> None:
    now = timezone.now() if isinstance(value, datetime) else timezone.localdate()
    if value > now:
        raise ValidationError({field: gettext(IN_FUTURE[what])})


# --- collection and batch ---------------------------------------------------------------------


@transaction.atomic
def collection_record(
    *,
    actor: User,
    request: ExemptionRequest,
    donation_identifier: str,
    material: str,
    collected_at: datetime,
    collection_site: str,
    check_character: str = "",
) -> Collection:
    request = ExemptionRequest.objects.select_for_update().get(pk=request.pk)
    _require(actor, request, HOSPITAL_STAFF)
    _require_approved(request)
    try:
        code = validate_donation_identifier(donation_identifier, check_character)
    except ValidationError as error:
        raise ValidationError({"donation_identifier": error.messages}) from error
    _not_in_future(collected_at, "collected_at", "collection")
    if Collection.objects.filter(donation_identifier=code).exists():
        raise ValidationError(
            {"donation_identifier": gettext("This donation identifier is already recorded.")}
        )
    collection = Collection(
        request=request,
        patient=request.patient,
        donation_identifier=code,
        check_character=normalise(check_character),
        material=material,
        collected_at=collected_at,
        collection_site=collection_site,
        recorded_by=actor,
    )
    collection.full_clean()
    collection.save()
    record_event(actor=actor, obj=request, action="collection_recorded", after={"donation_identifier": code})
    return collection


@transaction.atomic
def batch_create(
    *,
    actor: User,
    collection: Collection,
    batch_number: str,
    manufactured_on: date,
    expires_on: date,
    product_code: str = "",
) -> Batch:
    request = ExemptionRequest.objects.select_for_update().get(pk=collection.request_id)
    _require(actor, request, {Role.PHARMACIST})
    _require_approved(request)
    _not_in_future(manufactured_on, "manufactured_on", "date of manufacture")
    if manufactured_on < collection.collected_at.date():
        raise ValidationError(
            {"manufactured_on": gettext("A batch cannot be made before its starting material was collected.")}
        )
    code = ""
    if product_code:
        try:
            code, expiry = validate_product_code(product_code)
        except ValidationError as error:
            raise ValidationError({"product_code": error.messages}) from error
        if expiry != expires_on:
            raise ValidationError(
                {
                    "expires_on": gettext("The product code says the batch expires on %(day)s.")
                    % {"day": date_format(expiry, "d F Y")}
                }
            )
    batch = Batch(
        request=request,
        collection=collection,
        batch_number=batch_number.strip(),
        product_code=code,
        manufactured_on=manufactured_on,
        expires_on=expires_on,
        created_by=actor,
    )
    batch.full_clean()
    batch.save()
    assign_perm("manufacturing.view_batch", organisation_group(organisation=request.hospital), batch)
    assign_perm(
        "manufacturing.change_batch",
        organisation_group(organisation=request.hospital, role=Role.PHARMACIST),
        batch,
    )
    assign_perm("manufacturing.view_batch", organisation_group(organisation=request.authority), batch)
    record_event(actor=actor, obj=batch, action="created", after={"batch_number": batch.batch_number})
    return batch


# --- release testing --------------------------------------------------------------------------


def result_passes(test: ReleaseTest, value: Decimal | None, observation: str) -> bool:
    """Whether a result meets the specification: within the limits, or the expected observation."""
    if test.expected_result:
        return observation.strip().casefold() == test.expected_result.strip().casefold()
    return (test.lower_limit is None or value >= test.lower_limit) and (
        test.upper_limit is None or value <= test.upper_limit
    )


def _checked_result(test: ReleaseTest, value: Decimal | None, observation: str) -> None:
    if test.expected_result:
        if not observation.strip():
            raise ValidationError(
                {
                    "observation": gettext("Write what was observed (the specification is “%(expected)s”).")
                    % {"expected": test.expected_result}
                }
            )
        return
    if value is None:
        unit = test.unit or gettext("its unit")
        raise ValidationError({"value": gettext("Enter the measured value in %(unit)s.") % {"unit": unit}})
    if value < 0:
        raise ValidationError({"value": gettext("A measured value cannot be negative.")})
    if test.unit.strip() == "%" and value > 100:
        raise ValidationError({"value": gettext("A percentage cannot be over 100.")})


def _testing_batch(actor: User, batch: Batch) -> Batch:
    batch = Batch.objects.select_for_update().select_related("request__product").get(pk=batch.pk)
    _require(actor, batch.request, {Role.PHARMACIST})
    if batch.status != Batch.Status.IN_TESTING:
        raise ChainRefused(
            gettext("Batch %(number)s is %(status)s: its results are closed.")
            % {"number": batch.batch_number, "status": batch.get_status_display().lower()}
        )
    return batch


@transaction.atomic
def result_record(
    *, actor: User, batch: Batch, test: ReleaseTest, value: Decimal | None = None, observation: str = ""
) -> ReleaseResult:
    batch = _testing_batch(actor, batch)
    if test.product_id != batch.request.product_id:
        raise ValidationError(
            {"test": gettext("This test is not in the specification of the batch's product.")}
        )
    _checked_result(test, value, observation)
    result = ReleaseResult(
        batch=batch, test=test, value=value, observation=observation.strip(),
        passed=result_passes(test, value, observation), recorded_by=actor,
    )  # fmt: skip
    result.full_clean(validate_constraints=False)  # the database decides "one result per test" below
    try:
        with transaction.atomic():
            result.save()
    except IntegrityError as error:
        raise ValidationError(
            {"test": gettext("A result for this test is already recorded; correct it instead.")}
        ) from error
    record_event(
        actor=actor, obj=batch, action="result_recorded",
        after={"test": test.name, "result": result.shown, "passed": result.passed},
    )  # fmt: skip
    return result


@transaction.atomic
def result_correct(
    *, actor: User, result: ReleaseResult, reason: str, value: Decimal | None = None, observation: str = ""
) -> ReleaseResult:
    """A wrong entry is corrected with a reason; the audit trail keeps what it said before."""
    if not reason.strip():
        raise ValidationError({"reason": gettext("Say why the result is corrected.")})
    batch = _testing_batch(actor, result.batch)
    result = ReleaseResult.objects.select_for_update().select_related("test").get(pk=result.pk)
    _checked_result(result.test, value, observation)
    before = {"result": result.shown, "passed": result.passed}
    result.value, result.observation = value, observation.strip()
    result.passed = result_passes(result.test, value, observation)
    result.save(update_fields=["value", "observation", "passed"])
    record_event(
        actor=actor, obj=batch, action="result_corrected", before=before,
        after={"result": result.shown, "passed": result.passed}, reason=reason,
    )  # fmt: skip
    return result


def missing_results(*, batch: Batch) -> list[ReleaseTest]:
    recorded = set(batch.results.values_list("test_id", flat=True))
    return [test for test in batch.request.product.release_tests.all() if test.pk not in recorded]


def out_of_specification(*, batch: Batch) -> list[ReleaseResult]:
    return list(batch.results.filter(passed=False).select_related("test"))


def release_content(batch: Batch) -> dict:
    """What the qualified person (and, for an exceptional release, the physician) signs."""
    return {
        "batch": batch.batch_number,
        "donation_identifier": batch.collection.donation_identifier,
        "patient": batch.request.patient.pseudonym,
        "request": batch.request.reference,
        "results": [
            {
                "test": r.test.name,
                "specification": r.test.specification,
                "result": r.shown,
                "passed": r.passed,
            }
            for r in batch.results.select_related("test").order_by("test_id")
        ],
        "exceptional_release_justification": batch.exceptional_release_justification,
    }


@transaction.atomic
def exceptional_release_justify(
    *, actor: User, batch: Batch, justification: str, password: str, code: str = ""
) -> Batch:
    """The responsible physician states, and signs, why an out-of-specification batch should still
    be given to this patient."""
    batch = Batch.objects.select_for_update().select_related("request").get(pk=batch.pk)
    if batch.request.responsible_physician_id != actor.pk:
        raise PermissionDenied(NOT_YOUR_BATCH)
    if batch.status != Batch.Status.IN_TESTING:
        raise ChainRefused(
            gettext("Batch %(number)s is %(status)s.")
            % {"number": batch.batch_number, "status": batch.get_status_display().lower()}
        )
    if not out_of_specification(batch=batch):
        raise ChainRefused(gettext("Every result meets the specification: no exceptional release is needed."))
    if not justification.strip():
        raise ValidationError(
            {"justification": gettext("Explain why the patient should still receive this batch.")}
        )
    batch.exceptional_release_justification = justification.strip()
    batch.save(update_fields=["exceptional_release_justification"])
    sign(signer=actor, password=password, code=code, obj=batch, meaning=SignatureMeaning.EXCEPTIONAL_RELEASE,
         content=release_content(batch))  # fmt: skip
    record_event(actor=actor, obj=batch, action="exceptional_release_justified", reason=justification)
    return batch


@transaction.atomic
def batch_release(*, actor: User, batch: Batch, password: str, code: str = "") -> Batch:
    """The qualified person releases the batch; out of specification only as an exceptional
    release that the physician justified and signed, which the authority is told of at once."""
    batch = Batch.objects.select_for_update().select_related("request__authority").get(pk=batch.pk)
    membership = active_membership(user=actor)
    if not (
        membership
        and membership.role == Role.PHARMACIST
        and membership.is_qualified_person
        and membership.organisation_id == batch.request.hospital_id
    ):
        raise PermissionDenied("Only a qualified person of the hospital releases batches.")
    if batch.status != Batch.Status.IN_TESTING:
        raise ChainRefused(
            gettext("Batch %(number)s is already %(status)s.")
            % {"number": batch.batch_number, "status": batch.get_status_display().lower()}
        )
    _require_approved(batch.request)
    missing = missing_results(batch=batch)
    if missing:
        raise ChainRefused(
            gettext("Results are missing for: %(tests)s.")
            % {"tests": ", ".join(test.name for test in missing)}
        )
    failed = out_of_specification(batch=batch)
    content = release_content(batch)
    if failed:
        physician_signed = signatures_for(obj=batch).filter(
            meaning=SignatureMeaning.EXCEPTIONAL_RELEASE, content_hash=content_hash(content)
        )
        if not batch.exceptional_release_justification or not physician_signed.exists():
            raise ChainRefused(
                gettext(
                    "Out of specification: %(results)s. It can be released only as an exceptional release, "
                    "justified and signed by the responsible physician."
                )
                % {"results": ", ".join(f"{r.test.name} ({r.shown})" for r in failed)}
            )
    sign(
        signer=actor,
        password=password,
        code=code,
        obj=batch,
        meaning=SignatureMeaning.RELEASED,
        content=content,
    )
    batch.status = Batch.Status.EXCEPTIONALLY_RELEASED if failed else Batch.Status.RELEASED
    batch.released_by, batch.released_at = actor, timezone.now()
    batch.save(update_fields=["status", "released_by", "released_at"])
    record_event(actor=actor, obj=batch, action=batch.status, after={"status": batch.status})
    if failed:
        event = record_event(
            actor=actor, obj=batch.request, action="exceptional_release",
            after={"batch": batch.batch_number, "out_of_specification": [r.test.name for r in failed]},
            reason=batch.exceptional_release_justification,
        )  # fmt: skip
        notify(request=batch.request, event=event)
    return batch


# --- administration ---------------------------------------------------------------------------


@transaction.atomic
def administration_record(
    *, actor: User, batch: Batch, administered_at: datetime, dose: str, patient_code: str, batch_code: str
) -> Administration:
    """At the bedside: the codes read from the patient and from the bag must be this batch's."""
    batch = (
        Batch.objects.select_for_update()
        .select_related("request__patient", "request__authority")
        .get(pk=batch.pk)
    )
    request = batch.request
    _require(actor, request, {Role.CLINICIAN})
    if normalise(patient_code) != request.patient.pseudonym.replace("-", "") and normalise(
        patient_code
    ) != normalise(request.patient.pseudonym):
        raise ChainRefused(
            gettext(
                "Chain of identity: the patient code does not match this batch's patient. Do not give the "
                "product; check the patient's wristband and the batch label."
            )
        )
    if normalise(batch_code) != normalise(batch.batch_number):
        raise ChainRefused(
            gettext(
                "Chain of identity: the batch code does not match this batch. Do not give the product; "
                "check the label."
            )
        )
    if not batch.is_released:
        raise ChainRefused(
            gettext("Batch %(number)s is %(status)s: it cannot be given.")
            % {"number": batch.batch_number, "status": batch.get_status_display().lower()}
        )
    _require_approved(request)
    if request.patient.date_of_death:
        raise ChainRefused(gettext("The patient's death is recorded."))
    _not_in_future(administered_at, "administered_at", "administration")
    # People record the minute; a batch released at 10:05:40 may be given at "10:05".
    if administered_at < batch.released_at.replace(second=0, microsecond=0):
        raise ValidationError(
            {"administered_at": gettext("The administration cannot be before the batch was released.")}
        )
    earlier = request.administrations.order_by("administered_at").first()
    if earlier and request.batches_expected == 1:
        raise ChainRefused(
            gettext("This permit is for a single administration, which was given on %(day)s.")
            % {"day": date_format(earlier.administered_at, "d F Y")}
        )
    administration = Administration(
        batch=batch, request=request, patient=request.patient, administered_at=administered_at, dose=dose,
        administered_by=actor, authority_notified=request.authority.notify_each_administration,
    )  # fmt: skip
    administration.full_clean()
    administration.save()
    batch.status = Batch.Status.ADMINISTERED
    batch.save(update_fields=["status"])
    plan_create(administration=administration)
    record_event(actor=actor, obj=batch, action="administered", after={"administered_at": administered_at})
    event = record_event(
        actor=actor, obj=request, action="administered",
        after={"patient": request.patient.pseudonym, "product": request.product.name, "batch": batch.batch_number,
               "administered_at": administered_at},
    )  # fmt: skip
    notify(request=request, event=event)
    return administration


# --- corrections ------------------------------------------------------------------------------


def _corrected(record, changes: dict, allowed: tuple[str, ...], reason: str) -> tuple[dict, dict]:
    """Apply the changes a correction may make; the before and after values for the audit trail."""
    if not reason.strip():
        raise ValidationError({"reason": gettext("Say why the record is corrected.")})
    changes = {name: value for name, value in changes.items() if value not in (None, "")}
    refused = set(changes) - set(allowed)
    if refused:
        raise ValidationError(
            gettext("These cannot be corrected: %(fields)s.") % {"fields": ", ".join(sorted(refused))}
        )
    changed = {name: value for name, value in changes.items() if getattr(record, name) != value}
    if not changed:
        raise ValidationError(gettext("Nothing would change: give the corrected value."))
    before = {name: getattr(record, name) for name in changed}
    for name, value in changed.items():
        setattr(record, name, value)
    return before, changed


@transaction.atomic
def collection_correct(*, actor: User, collection: Collection, reason: str, **changes) -> Collection:
    """Material, time and site of a collection can be corrected; its donation identifier never changes."""
    collection = Collection.objects.select_for_update().select_related("request").get(pk=collection.pk)
    _require(actor, collection.request, HOSPITAL_STAFF)
    if "donation_identifier" in changes:
        raise ValidationError(
            {"donation_identifier": gettext("A donation identifier never changes once assigned.")}
        )
    before, after = _corrected(collection, changes, ("material", "collected_at", "collection_site"), reason)
    if "collected_at" in after:
        _not_in_future(collection.collected_at, "collected_at", "collection")
        first_made = (
            collection.batches.order_by("manufactured_on").values_list("manufactured_on", flat=True).first()
        )
        if first_made and collection.collected_at.date() > first_made:
            raise ValidationError({"collected_at": gettext("A batch was made from it on an earlier day.")})
    collection.full_clean()
    collection.save()
    record_event(actor=actor, obj=collection.request, action="collection_corrected", before=before, after=after,
                 reason=reason)  # fmt: skip
    return collection


@transaction.atomic
def administration_correct(
    *, actor: User, administration: Administration, reason: str, **changes
) -> Administration:
    """The time and dose of an administration can be corrected; which batch went to whom cannot."""
    administration = (
        Administration.objects.select_for_update()
        .select_related("batch", "request")
        .get(pk=administration.pk)
    )
    _require(actor, administration.request, {Role.CLINICIAN})
    before, after = _corrected(administration, changes, ("administered_at", "dose"), reason)
    if "administered_at" in after:
        _not_in_future(administration.administered_at, "administered_at", "administration")
        if administration.administered_at < administration.batch.released_at.replace(second=0, microsecond=0):
            raise ValidationError(
                {"administered_at": gettext("The administration cannot be before the batch was released.")}
            )
    administration.full_clean()
    administration.save()
    record_event(actor=actor, obj=administration.request, action="administration_corrected", before=before,
                 after=after, reason=reason)  # fmt: skip
    record_event(actor=actor, obj=administration.batch, action="administration_corrected", before=before,
                 after=after, reason=reason)  # fmt: skip
    return administration
