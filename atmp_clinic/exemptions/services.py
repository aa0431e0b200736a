"""Every write to a hospital-exemption request, and the one place its state changes (SPEC §4).

Each transition: the actor's permission, a lock on the request row, the state checked again under
the lock (so of two people acting at once exactly one wins), the change, and an audit event, all
in one transaction."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from guardian.shortcuts import assign_perm

from atmp_clinic.accounts.models import Membership, Role, User
from atmp_clinic.accounts.selectors import active_membership, has_role_in, national_authority
from atmp_clinic.accounts.services import organisation_group
from atmp_clinic.audit.models import SignatureMeaning
from atmp_clinic.audit.selectors import signatures_for
from atmp_clinic.audit.services import content_hash, record_event, sign
from atmp_clinic.patients.models import ConsentKind, Patient
from atmp_clinic.products.models import AtmpClass, Product

from .attachments import check_pdf
from .models import (
    APPROVED_STATES,
    CRITERIA,
    Assessment,
    AssessmentKind,
    Attachment,
    Decision,
    ExemptionRequest,
    FollowUpTemplate,
    InformationRequest,
    Outcome,
    RequestKind,
    State,
    attachment_path,
)
from .notifications import notify

# Messages are English here (tests and API clients compare them) and translated where raised.
NOT_YOUR_REQUEST = gettext_noop("This request is not yours to change.")
FOUR_EYES = gettext_noop("You assessed this request, so someone else must decide it (four-eyes principle).")
SAME_ASSESSOR = gettext_noop("The other assessment must come from another assessor.")
NOT_SIGNED_BY_PHYSICIAN = gettext_noop(
    "The responsible physician has not signed the request as it is now: ask them to sign it "
    "(again, if it changed since they signed)."
)

# Fields a pharmacist may write while the request is a draft or returned.
EDITABLE_FIELDS = (
    "kind", "modifies", "indication_code", "indication", "unmet_need", "not_otherwise_available", *CRITERIA,
    "dose", "route", "frequency", "batches_expected", "planned_administration_date", "manufacturing_site",
    "manufacturing_authorisation", "qualified_person", "quality_summary", "pharmacovigilance", "follow_up_plan",
    "responsible_physician",
)  # fmt: skip
REQUIRED_TEXT = {
    "indication_code": gettext_noop("Give the indication's ICD-10 code."),
    "indication": gettext_noop("Describe the indication."),
    "unmet_need": gettext_noop("Justify the unmet medical need."),
    "dose": gettext_noop("Give the dose."),
    "route": gettext_noop("Give the route of administration."),
    "frequency": gettext_noop("Give how often it is given."),
    "batches_expected": gettext_noop("Give the number of batches expected."),
    "planned_administration_date": gettext_noop("Give the planned date of administration."),
    "manufacturing_site": gettext_noop("Name the manufacturing site."),
    "manufacturing_authorisation": gettext_noop("Give the manufacturing site's authorisation number."),
    "qualified_person": gettext_noop("Name the qualified person who releases batches."),
    "quality_summary": gettext_noop("Summarise the quality of the product."),
    "pharmacovigilance": gettext_noop("Describe the pharmacovigilance arrangements."),
    "follow_up_plan": gettext_noop("Propose the follow-up plan."),
    "responsible_physician": gettext_noop("Name the responsible physician."),
}


class TransitionRefused(Exception):
    """A step the actor may take in general but not now; the message says why, for a person."""


class TransitionConflict(TransitionRefused):
    """The request changed under the actor's feet: someone else acted first."""


class IncompleteRequest(TransitionRefused):
    def __init__(self, missing: dict[str, str]):
        super().__init__(
            gettext("The request is not complete: %(missing)s") % {"missing": " ".join(missing.values())}
        )
        self.missing = missing


# --- who may act -----------------------------------------------------------------------------


def _reviewer(actor: User, request: ExemptionRequest, capability: str | None = None) -> Membership | None:
    membership = active_membership(user=actor)
    if (
        not membership
        or membership.role != Role.REVIEWER
        or membership.organisation_id != request.authority_id
    ):
        return None
    if capability and not getattr(membership, f"is_{capability}"):
        return None
    return membership


def _is_pharmacist(actor: User, request: ExemptionRequest) -> bool:
    return has_role_in(user=actor, organisation=request.hospital, roles={Role.PHARMACIST})


@dataclass(frozen=True)
class Transition:
    sources: tuple[State, ...]
    verb: str  # for messages: "This request cannot be <verb> now"
    may: Callable[[User, ExemptionRequest], bool]


TRANSITIONS: dict[str, Transition] = {
    # Not a change of state: the responsible physician's signature, which submission needs.
    "co_sign": Transition(
        (State.DRAFT, State.RETURNED),
        pgettext_lazy("this request cannot be …", "signed"),
        lambda a, r: r.responsible_physician_id == a.pk,
    ),
    "submit": Transition(
        (State.DRAFT, State.RETURNED), pgettext_lazy("this request cannot be …", "submitted"), _is_pharmacist
    ),
    "validate": Transition(
        (State.SUBMITTED,),
        pgettext_lazy("this request cannot be …", "validated"),
        lambda a, r: bool(_reviewer(a, r, "validator")),
    ),
    "return": Transition(
        (State.SUBMITTED,),
        pgettext_lazy("this request cannot be …", "returned"),
        lambda a, r: bool(_reviewer(a, r, "validator")),
    ),
    "request_information": Transition(
        (State.UNDER_ASSESSMENT,),
        pgettext_lazy("this request cannot be …", "asked for information"),
        lambda a, r: bool(_reviewer(a, r, "validator") or _reviewer(a, r, "assessor")),
    ),
    "answer_information": Transition(
        (State.INFORMATION_REQUESTED,), pgettext_lazy("this request cannot be …", "answered"), _is_pharmacist
    ),
    "record_assessment": Transition(
        (State.UNDER_ASSESSMENT,),
        pgettext_lazy("this request cannot be …", "assessed"),
        lambda a, r: bool(_reviewer(a, r, "assessor")),
    ),
    "decide": Transition(
        (State.READY_FOR_DECISION,),
        pgettext_lazy("this request cannot be …", "decided"),
        lambda a, r: bool(_reviewer(a, r, "decider")),
    ),
    "withdraw": Transition(
        (
            State.DRAFT,
            State.SUBMITTED,
            State.RETURNED,
            State.UNDER_ASSESSMENT,
            State.INFORMATION_REQUESTED,
            State.READY_FOR_DECISION,
        ),
        pgettext_lazy("this request cannot be …", "withdrawn"),
        _is_pharmacist,
    ),
    # Only the daily sweep lapses a request (actor None); no person may.
    "lapse": Transition(
        (State.INFORMATION_REQUESTED,),
        pgettext_lazy("this request cannot be …", "lapsed"),
        lambda a, r: False,
    ),
    "suspend": Transition(
        APPROVED_STATES,
        pgettext_lazy("this request cannot be …", "suspended"),
        lambda a, r: bool(_reviewer(a, r, "decider")),
    ),
    "revoke": Transition(
        (*APPROVED_STATES, State.SUSPENDED),
        pgettext_lazy("this request cannot be …", "revoked"),
        lambda a, r: bool(_reviewer(a, r, "decider")),
    ),
}


def available_transitions(*, actor: User, request: ExemptionRequest) -> list[str]:
    """The steps this actor could take on the request now (for the page's buttons)."""
    return [
        name
        for name, transition in TRANSITIONS.items()
        if request.state in transition.sources and transition.may(actor, request)
    ]


def _begin(name: str, *, actor: User | None, request: ExemptionRequest) -> tuple[ExemptionRequest, State]:
    """Lock the row, then check the actor and the state on what the database holds now."""
    transition = TRANSITIONS[name]
    locked = ExemptionRequest.objects.select_for_update().get(pk=request.pk)
    if actor is not None and not transition.may(actor, locked):
        raise PermissionDenied(gettext(NOT_YOUR_REQUEST))
    if locked.state not in transition.sources:
        raise TransitionConflict(
            gettext(
                "This request is %(state)s now, so it cannot be %(verb)s. "
                "Someone may have acted on it a moment ago: reload the page to see where it stands."
            )
            % {"state": locked.get_state_display().lower(), "verb": transition.verb}
        )
    return locked, State(locked.state)


def _move(
    request: ExemptionRequest, *, actor: User | None, action: str, to: State, reason: str = "", **after
) -> None:
    before = request.state
    request.state = to
    request.updated_at = timezone.now()
    request.save()
    event = record_event(
        actor=actor,
        obj=request,
        action=action,
        before={"state": before},
        after={"state": to, **after},
        reason=reason,
    )
    notify(request=request, event=event)


# --- drafts ----------------------------------------------------------------------------------


@transaction.atomic
def request_create(*, actor: User, patient: Patient, product: Product, **fields) -> ExemptionRequest:
    """A draft for one patient and one product of the pharmacist's hospital."""
    membership = active_membership(user=actor)
    if not membership or membership.role != Role.PHARMACIST:
        raise PermissionDenied(gettext(NOT_YOUR_REQUEST))
    hospital = membership.organisation
    if patient.hospital_id != hospital.pk or product.hospital_id != hospital.pk:
        raise PermissionDenied(gettext(NOT_YOUR_REQUEST))
    authority = national_authority(country=hospital.country)
    if authority is None:
        raise TransitionRefused(
            gettext("No national authority is registered for %(country)s.")
            % {"country": hospital.get_country_display()}
        )
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    if not fields.get("manufacturing_authorisation"):  # usually the hospital's own site
        fields["manufacturing_authorisation"] = hospital.manufacturing_authorisation_number
    request = ExemptionRequest(
        reference=f"draft-{timezone.now():%Y%m%d%H%M%S%f}",
        hospital=hospital,
        authority=authority,
        patient=patient,
        product=product,
        created_by=actor,
        **fields,
    )
    _check_references(request)
    request.full_clean(exclude=["reference"])
    request.save()
    request.reference = f"HE-{hospital.country}-{request.created_at:%Y}-{request.pk:05d}"
    request.save(update_fields=["reference"])
    staff = organisation_group(organisation=hospital)
    assign_perm("exemptions.view_exemptionrequest", staff, request)
    assign_perm(
        "exemptions.change_exemptionrequest",
        organisation_group(organisation=hospital, role=Role.PHARMACIST),
        request,
    )
    record_event(actor=actor, obj=request, action="created", after={"state": State.DRAFT})
    return request


@transaction.atomic
def request_update(*, actor: User, request: ExemptionRequest, **fields) -> ExemptionRequest:
    locked = ExemptionRequest.objects.select_for_update().get(pk=request.pk)
    if not _is_pharmacist(actor, locked):
        raise PermissionDenied(gettext(NOT_YOUR_REQUEST))
    if locked.state not in (State.DRAFT, State.RETURNED):
        raise TransitionConflict(
            gettext("This request is %(state)s: it can no longer be edited.")
            % {"state": locked.get_state_display().lower()}
        )
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    before = {name: getattr(locked, name) for name in fields}
    for name, value in fields.items():
        setattr(locked, name, value)
    _check_references(locked)
    locked.full_clean()
    locked.updated_at = timezone.now()
    locked.save()
    changed = {name for name in fields if before[name] != getattr(locked, name)}
    if changed:
        record_event(
            actor=actor,
            obj=locked,
            action="edited",
            before={name: _plain(before[name]) for name in changed},
            after={name: _plain(getattr(locked, name)) for name in changed},
        )
    return locked


ATTACHABLE_STATES = (State.DRAFT, State.RETURNED, State.INFORMATION_REQUESTED)


FILE_NOT_STORED = gettext_noop(
    "The file could not be saved: the server's storage is full or failing. Nothing was attached; "
    "try again later, and tell your administrator if it happens again."
)


@transaction.atomic
def attachment_add(
    *, actor: User, request: ExemptionRequest, file: UploadedFile, description: str
) -> Attachment:
    """A PDF for the request, checked by its content; while the hospital holds the request."""
    locked = ExemptionRequest.objects.select_for_update().get(pk=request.pk)
    if not _is_pharmacist(actor, locked):
        raise PermissionDenied(gettext(NOT_YOUR_REQUEST))
    if locked.state not in ATTACHABLE_STATES:
        raise TransitionConflict(
            gettext("This request is %(state)s: documents can no longer be attached.")
            % {"state": locked.get_state_display().lower()}
        )
    checked = check_pdf(file)
    if locked.attachments.filter(sha256=checked.sha256).exists():
        raise ValidationError({"file": gettext("This document is already attached to the request.")})
    attachment = Attachment(
        request=locked,
        original_name=file.name[:200],
        description=description,
        size=checked.size,
        pages=checked.pages,
        sha256=checked.sha256,
        uploaded_by=actor,
    )
    name = attachment_path(attachment, file.name)
    try:
        attachment.file.save(name, file, save=False)
    except OSError as error:
        # A full or failing disk: what was written of the file goes too, so nothing is half-saved.
        attachment.file.storage.delete(name)
        raise ValidationError({"file": gettext(FILE_NOT_STORED)}) from error
    attachment.save()
    record_event(
        actor=actor,
        obj=locked,
        action="attachment_added",
        after={"name": attachment.original_name, "sha256": checked.sha256},
    )
    return attachment


def _plain(value):
    return value.pk if hasattr(value, "pk") else value


def _check_references(request: ExemptionRequest) -> None:
    """What a request points to must exist for it: a living patient, a product still made, and for a
    modification an approved permit of the same hospital."""
    errors = {}
    if request.patient.date_of_death:
        errors["patient"] = gettext("This patient has died: no request can be filed for them.")
    if not request.product.is_active:
        errors["product"] = gettext("This product is no longer in the hospital's catalogue.")
    modified = request.modifies
    if modified and (modified.hospital_id != request.hospital_id or modified.state not in APPROVED_STATES):
        errors["modifies"] = gettext("A modification changes an approved permit of your own hospital.")
    if errors:
        raise ValidationError(errors)


def missing_for_submission(*, request: ExemptionRequest) -> dict[str, str]:
    """What stops the request from being submitted, field by field, in words."""
    missing = {
        name: gettext(message)
        for name, message in REQUIRED_TEXT.items()
        if getattr(request, name) in ("", None)
    }
    if not request.not_otherwise_available:
        missing["not_otherwise_available"] = gettext(
            "State that the product is not available through a marketing authorisation, a clinical trial "
            "or a compassionate-use programme."
        )
    for name, label in CRITERIA.items():
        if not getattr(request, name):
            missing[name] = gettext("Attest the criterion: %(criterion)s.") % {
                "criterion": gettext(label).lower()
            }
    if request.kind == RequestKind.SUBSTANTIAL_MODIFICATION and not request.modifies_id:
        missing["modifies"] = gettext("Name the permit this modification changes.")
    if request.responsible_physician_id and not has_role_in(
        user=request.responsible_physician, organisation=request.hospital, roles={Role.CLINICIAN}
    ):
        missing["responsible_physician"] = gettext(
            "The responsible physician must be a clinician of this hospital."
        )
    if request.planned_administration_date and request.planned_administration_date < timezone.localdate():
        missing["planned_administration_date"] = gettext("The planned date of administration has passed.")
    if not request.patient.consents.filter(kind=ConsentKind.TREATMENT, withdrawn_on__isnull=True).exists():
        missing["patient"] = gettext("The patient's consent to treatment is not recorded.")
    if request.patient.date_of_death:
        missing["patient"] = gettext("The patient has died.")
    return missing


def request_content(request: ExemptionRequest) -> dict:
    """What the physician and the pharmacist sign: every field the hospital wrote, and the hash of
    every attached document."""
    fields = {name: _plain(getattr(request, name)) for name in EDITABLE_FIELDS}
    return {
        "reference": request.reference,
        "patient": request.patient_id,
        "product": request.product_id,
        "attachments": sorted(request.attachments.values_list("sha256", flat=True)),
        **fields,
    }


def decision_content(decision: Decision) -> dict:
    """What the decider signs: the request as it was decided on, and every term of the decision."""
    return {
        "request": request_content(decision.request),
        "outcome": decision.outcome,
        "reasons": decision.reasons,
        "conditions": decision.conditions,
        "follow_up_years": decision.follow_up_years,
        "follow_up_template": decision.follow_up_template,
        "reporting_duties": decision.reporting_duties,
        "valid_until": decision.valid_until,
    }


# --- the steps of SPEC §4 --------------------------------------------------------------------


@transaction.atomic
def request_co_sign(*, actor: User, request: ExemptionRequest, password: str, code: str = "") -> None:
    """The responsible physician signs the request as it stands; submission needs this signature."""
    locked, _ = _begin("co_sign", actor=actor, request=request)
    missing = missing_for_submission(request=locked)
    if missing:
        raise IncompleteRequest(missing)
    sign(
        signer=actor,
        password=password,
        code=code,
        obj=locked,
        meaning=SignatureMeaning.CO_SIGNED,
        content=request_content(locked),
    )
    notify(request=locked, event=record_event(actor=actor, obj=locked, action="co_signed"))


def physician_signature_is_current(*, request: ExemptionRequest) -> bool:
    latest = (
        signatures_for(obj=request)
        .filter(meaning=SignatureMeaning.CO_SIGNED, signer_id=request.responsible_physician_id)
        .order_by("-signed_at", "-id")
        .first()
    )
    return bool(latest) and latest.content_hash == content_hash(request_content(request))


@transaction.atomic
def request_submit(
    *, actor: User, request: ExemptionRequest, password: str, code: str = ""
) -> ExemptionRequest:
    request, was = _begin("submit", actor=actor, request=request)
    missing = missing_for_submission(request=request)
    if missing:
        raise IncompleteRequest(missing)
    if not physician_signature_is_current(request=request):
        raise TransitionRefused(gettext(NOT_SIGNED_BY_PHYSICIAN))
    sign(
        signer=actor,
        password=password,
        code=code,
        obj=request,
        meaning=SignatureMeaning.SUBMITTED,
        content=request_content(request),
    )
    request.submitted_at = timezone.now()
    _move(
        request,
        actor=actor,
        action="resubmitted" if was == State.RETURNED else "submitted",
        to=State.SUBMITTED,
    )
    assign_perm(
        "exemptions.view_exemptionrequest", organisation_group(organisation=request.authority), request
    )
    return request


@transaction.atomic
def request_validate(*, actor: User, request: ExemptionRequest, comment: str = "") -> ExemptionRequest:
    request, _ = _begin("validate", actor=actor, request=request)
    request.validated_at = timezone.now()
    _move(request, actor=actor, action="validated", to=State.UNDER_ASSESSMENT, reason=comment)
    return request


@transaction.atomic
def request_return(*, actor: User, request: ExemptionRequest, reasons: str) -> ExemptionRequest:
    if not reasons.strip():
        raise ValidationError(
            {"reasons": gettext("Say what is missing, so the hospital can complete the request.")}
        )
    request, _ = _begin("return", actor=actor, request=request)
    _move(request, actor=actor, action="returned", to=State.RETURNED, reason=reasons)
    return request


@transaction.atomic
def request_ask_information(*, actor: User, request: ExemptionRequest, questions: str) -> InformationRequest:
    if not questions.strip():
        raise ValidationError({"questions": gettext("Write the questions for the hospital.")})
    request, _ = _begin("request_information", actor=actor, request=request)
    due = timezone.localdate() + timedelta(days=request.authority.information_response_days)
    asked = InformationRequest.objects.create(
        request=request, questions=questions, asked_by=actor, answer_due_on=due
    )
    _move(request, actor=actor, action="information_requested", to=State.INFORMATION_REQUESTED, reason=questions,
          answer_due_on=due)  # fmt: skip
    return asked


@transaction.atomic
def request_answer_information(*, actor: User, request: ExemptionRequest, answer: str) -> InformationRequest:
    if not answer.strip():
        raise ValidationError({"answer": gettext("Write the hospital's answer.")})
    request, _ = _begin("answer_information", actor=actor, request=request)
    asked = request.information_requests.select_for_update().get(answered_at__isnull=True)
    asked.answer, asked.answered_by, asked.answered_at = answer, actor, timezone.now()
    asked.save(update_fields=["answer", "answered_by", "answered_at"])
    _move(request, actor=actor, action="information_answered", to=State.UNDER_ASSESSMENT, reason=answer)
    return asked


@transaction.atomic
def lapse_unanswered(*, today=None) -> list[str]:
    """Requests whose hospital did not answer the authority's questions in time lapse."""
    today = today or timezone.localdate()
    lapsed = []
    overdue = InformationRequest.objects.filter(
        answered_at__isnull=True, answer_due_on__lt=today, request__state=State.INFORMATION_REQUESTED
    ).values_list("request_id", flat=True)
    for request in ExemptionRequest.objects.filter(pk__in=list(overdue)):
        try:
            locked, _ = _begin("lapse", actor=None, request=request)
        except TransitionConflict:
            continue  # answered a moment ago
        _move(
            locked,
            actor=None,
            action="lapsed",
            to=State.LAPSED,
            reason="No answer by the authority's deadline.",
        )
        lapsed.append(locked.reference)
    return lapsed


@transaction.atomic
def assessment_record(
    *, actor: User, request: ExemptionRequest, kind: str, report: str, recommendation: str
) -> Assessment:
    request, _ = _begin("record_assessment", actor=actor, request=request)
    if request.assessments.filter(kind=kind).exists():
        raise TransitionConflict(
            gettext("The %(assessment)s of this request is already recorded.")
            % {"assessment": AssessmentKind(kind).label.lower()}
        )
    if request.assessments.filter(assessor=actor).exists():
        raise TransitionRefused(gettext(SAME_ASSESSOR))
    assessment = Assessment(
        request=request, kind=kind, assessor=actor, report=report, recommendation=recommendation
    )
    assessment.full_clean()
    assessment.save()
    record_event(
        actor=actor,
        obj=request,
        action=f"{kind}_assessment_recorded",
        after={"recommendation": recommendation},
    )
    if request.assessments.count() == len(AssessmentKind.values):
        _move(request, actor=actor, action="ready_for_decision", to=State.READY_FOR_DECISION)
    return assessment


def default_follow_up_template(product: Product) -> FollowUpTemplate:
    """The SPEC §3 template a product's class and vector call for."""
    if product.has_integrating_vector:
        return FollowUpTemplate.INTEGRATING_VECTOR
    if product.vector_kind:
        return FollowUpTemplate.NON_INTEGRATING_GENE_THERAPY
    if product.atmp_class == AtmpClass.SOMATIC_CELL_THERAPY:
        return FollowUpTemplate.SOMATIC_CELL_THERAPY
    return FollowUpTemplate.TISSUE_ENGINEERED


def default_follow_up_years(product: Product) -> int:
    """SPEC §3: 15 years after integrating vectors or genome editing, 5 otherwise."""
    return 15 if product.has_integrating_vector else 5


@transaction.atomic
def request_decide(
    *,
    actor: User,
    request: ExemptionRequest,
    password: str,
    code: str = "",
    outcome: str,
    reasons: str,
    conditions: str = "",
    follow_up_years: int | None = None,
    follow_up_template: str = "",
    reporting_duties: str = "",
) -> Decision:
    request, _ = _begin("decide", actor=actor, request=request)
    if request.assessments.filter(assessor=actor).exists():
        raise TransitionRefused(gettext(FOUR_EYES))
    approves = outcome != Outcome.REJECTED
    decision = Decision(
        request=request,
        outcome=outcome,
        reasons=reasons,
        conditions=conditions,
        follow_up_years=(follow_up_years or default_follow_up_years(request.product)) if approves else None,
        follow_up_template=(follow_up_template or default_follow_up_template(request.product))
        if approves
        else "",
        reporting_duties=reporting_duties,
        valid_until=timezone.localdate() + timedelta(days=request.authority.permit_validity_days)
        if approves
        else None,
        decided_by=actor,
    )
    if outcome == Outcome.APPROVED_WITH_CONDITIONS and not conditions.strip():
        raise ValidationError({"conditions": gettext("Write the conditions of the approval.")})
    decision.full_clean()
    decision.save()
    signed = decision_content(decision)
    sign(
        signer=actor,
        password=password,
        code=code,
        obj=decision,
        meaning=SignatureMeaning.DECIDED,
        content=signed,
    )
    _move(request, actor=actor, action="decided", to=State(outcome), reason=reasons)
    return decision


def _end(
    name: str, *, actor: User, request: ExemptionRequest, reason: str, to: State, why: str
) -> ExemptionRequest:
    """A step that ends or halts the request for a stated reason."""
    if not reason.strip():
        raise ValidationError({"reason": why})
    request, _ = _begin(name, actor=actor, request=request)
    _move(request, actor=actor, action=to.value, to=to, reason=reason)
    return request


@transaction.atomic
def request_withdraw(*, actor: User, request: ExemptionRequest, reason: str) -> ExemptionRequest:
    return _end("withdraw", actor=actor, request=request, reason=reason, to=State.WITHDRAWN,
                why=gettext("Say why the request is withdrawn."))  # fmt: skip


@transaction.atomic
def permit_suspend(*, actor: User, request: ExemptionRequest, reason: str) -> ExemptionRequest:
    return _end("suspend", actor=actor, request=request, reason=reason, to=State.SUSPENDED,
                why=gettext("Give the reason for the suspension."))  # fmt: skip


@transaction.atomic
def permit_revoke(*, actor: User, request: ExemptionRequest, reason: str) -> ExemptionRequest:
    return _end("revoke", actor=actor, request=request, reason=reason, to=State.REVOKED,
                why=gettext("Give the reason for the revocation."))  # fmt: skip
