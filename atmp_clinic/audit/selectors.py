from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext_noop, pgettext_lazy

from atmp_clinic.accounts.models import Membership, Role, User
from atmp_clinic.patients.models import Patient

from .models import AuditChainHead, AuditEvent, Signature
from .services import GENESIS_HASH, canonical_json, content_hash, event_hash

# Marked for translation, translated where shown (audit/_signature.html); kept as English values here.
MATCHES = gettext_noop("matches the record")
NO_LONGER_MATCHES = gettext_noop("no longer matches: the record changed after it was signed")


def events_for(*, obj: models.Model) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).select_related("actor")


def trail(*, obj: models.Model) -> list[tuple[AuditEvent, str]]:
    """A record's events, each with its action as a page shows it ("visit_recorded" → "Visit recorded")."""
    return [(event, action_label(event.action)) for event in events_for(obj=obj)]


def signatures_for(*, obj: models.Model) -> QuerySet[Signature]:
    return Signature.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)


@dataclass(frozen=True)
class CheckedSignature:
    """A signature and whether the record, as it is now, is still what was signed."""

    signature: Signature
    matches: bool

    @property
    def status(self) -> str:
        return MATCHES if self.matches else NO_LONGER_MATCHES


def signature_status(*, signature: Signature, content: dict) -> CheckedSignature:
    """`content` is the record's signed content built again from the record as it stands now."""
    return CheckedSignature(signature=signature, matches=signature.content_hash == content_hash(content))


def checked_signatures(*, obj: models.Model, content: dict) -> list[CheckedSignature]:
    return [
        signature_status(signature=signature, content=content)
        for signature in signatures_for(obj=obj).select_related("signer")
    ]


def shown_value(value: Any) -> str:
    """A before or after value as text: strings as they are, anything else as JSON; none as empty."""
    if value is None:
        return ""
    return value if isinstance(value, str) else canonical_json(value)


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


def field_changes(event: AuditEvent) -> list[FieldChange]:
    """Each field the event names, with its value before and after; a side that does not name the
    field (a value set for the first time, or a fact recorded) is empty."""
    return [
        FieldChange(
            field=name, before=shown_value(event.before.get(name)), after=shown_value(event.after.get(name))
        )
        for name in sorted(set(event.before) | set(event.after))
    ]


# Every action the code writes, as the trail names it; tests/audit/test_action_labels.py fails on an
# action without a label. Only the label is translated: the stored action, the CSV and the search
# keep the code.
ACTION_LABELS = {
    # Exemption requests
    "created": pgettext_lazy("audit action", "Created"),
    "edited": pgettext_lazy("audit action", "Edited"),
    "attachment_added": pgettext_lazy("audit action", "Attachment added"),
    "co_signed": pgettext_lazy("audit action", "Co-signed"),
    "submitted": pgettext_lazy("audit action", "Submitted"),
    "resubmitted": pgettext_lazy("audit action", "Resubmitted"),
    "validated": pgettext_lazy("audit action", "Validated"),
    "returned": pgettext_lazy("audit action", "Returned as incomplete"),
    "information_requested": pgettext_lazy("audit action", "Information requested"),
    "information_answered": pgettext_lazy("audit action", "Request for information answered"),
    "lapsed": pgettext_lazy("audit action", "Lapsed"),
    "quality_assessment_recorded": pgettext_lazy("audit action", "Quality assessment recorded"),
    "clinical_assessment_recorded": pgettext_lazy("audit action", "Clinical assessment recorded"),
    "ready_for_decision": pgettext_lazy("audit action", "Ready for decision"),
    "decided": pgettext_lazy("audit action", "Decided"),
    "withdrawn": pgettext_lazy("audit action", "Withdrawn"),
    "suspended": pgettext_lazy("audit action", "Suspended"),
    "revoked": pgettext_lazy("audit action", "Revoked"),
    "document_issued": pgettext_lazy("audit action", "Document issued"),
    # Manufacturing
    "collection_recorded": pgettext_lazy("audit action", "Collection recorded"),
    "collection_corrected": pgettext_lazy("audit action", "Collection corrected"),
    "result_recorded": pgettext_lazy("audit action", "Release test result recorded"),
    "result_corrected": pgettext_lazy("audit action", "Release test result corrected"),
    "exceptional_release_justified": pgettext_lazy("audit action", "Exceptional release justified"),
    "released": pgettext_lazy("audit action", "Released"),
    "exceptionally_released": pgettext_lazy("audit action", "Released exceptionally"),
    "exceptional_release": pgettext_lazy("audit action", "Batch released exceptionally"),
    "administered": pgettext_lazy("audit action", "Administered"),
    "administration_corrected": pgettext_lazy("audit action", "Administration corrected"),
    # Follow-up
    "follow_up_plan_created": pgettext_lazy("audit action", "Follow-up plan created"),
    "follow_up_plan_amended": pgettext_lazy("audit action", "Follow-up plan amended"),
    "follow_up_plan_ended": pgettext_lazy("audit action", "Follow-up plan ended"),
    "at_risk_of_loss_flagged": pgettext_lazy("audit action", "Flagged as at risk of loss to follow-up"),
    "at_risk_of_loss_cleared": pgettext_lazy(
        "audit action", "No longer flagged as at risk of loss to follow-up"
    ),
    "visit_recorded": pgettext_lazy("audit action", "Visit recorded"),
    "visit_missed": pgettext_lazy("audit action", "Visit missed"),
    "visit_rescheduled": pgettext_lazy("audit action", "Visit rescheduled"),
    "reminder_channels_changed": pgettext_lazy("audit action", "Reminder channels changed"),
    # Registry
    "outcome_recorded": pgettext_lazy("audit action", "Outcome recorded"),
    "adverse_event_recorded": pgettext_lazy("audit action", "Adverse event recorded"),
    "expedited_report_opened": pgettext_lazy("audit action", "Expedited report opened"),
    "expedited_report_submitted": pgettext_lazy("audit action", "Expedited report submitted"),
    "expedited_report_acknowledged": pgettext_lazy("audit action", "Expedited report acknowledged"),
    "export_requested": pgettext_lazy("audit action", "Export requested"),
    "annual_report_requested": pgettext_lazy("audit action", "Annual report requested"),
    "annual_report_built": pgettext_lazy("audit action", "Annual report built"),
    "annual_report_failed": pgettext_lazy("audit action", "Annual report failed"),
    # Accounts, the API and the trail itself
    "second_factor_enabled": pgettext_lazy("audit action", "Two-factor authentication enabled"),
    "second_factor_removed": pgettext_lazy("audit action", "Two-factor authentication removed"),
    "recovery_codes_renewed": pgettext_lazy("audit action", "Recovery codes renewed"),
    "recovery_code_used": pgettext_lazy("audit action", "Recovery code used"),
    "api_token_created": pgettext_lazy("audit action", "API token created"),
    "api_token_revoked": pgettext_lazy("audit action", "API token revoked"),
    "audit_trail_exported": pgettext_lazy("audit action", "Audit trail exported"),
}


def action_label(action: str) -> str:
    """The action as the trail names it, in the active language; an action no longer written (an old
    record's) is named from its code, "visit_recorded" → "Visit recorded"."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    return action.replace("_", " ").capitalize()


def actions_named(name: str) -> set[str]:
    """The actions a person means by `name`: its code written as words ("visit recorded"), or its
    label in the active language or in English, whatever the case."""
    wanted = name.strip().casefold()
    actions = {wanted.replace(" ", "_")}
    with translation.override("en"):
        english = {action: str(label).casefold() for action, label in ACTION_LABELS.items()}
    for action, label in ACTION_LABELS.items():
        if wanted in (str(label).casefold(), english[action]):
            actions.add(action)
    return actions


def _role_at(memberships: Iterable[Membership], when: datetime) -> Membership | None:
    for membership in memberships:
        if membership.started_at <= when and (membership.ended_at is None or membership.ended_at > when):
            return membership
    return None


@dataclass(frozen=True)
class TrailEntry:
    event: AuditEvent
    label: str
    actor: str
    # Empty for the system and for patients, whose username may be their name.
    username: str
    role: str
    changes: list[FieldChange]


def _actor(user: User | None, memberships: list[Membership], pseudonyms: dict[int, str]) -> tuple[str, str]:
    if user is None:
        return "the system", ""
    if any(membership.role == Role.PATIENT for membership in memberships):
        # A patient's account carries their name: the trail names them by pseudonym only.
        return f"Patient {pseudonyms.get(user.pk, '')}".strip(), ""
    return user.get_full_name() or user.username, user.username


def trail_entries(events: Iterable[AuditEvent]) -> list[TrailEntry]:
    """Events as people read them: each with its changed fields and the role its actor held when it
    happened (people change roles and organisations; the trail keeps what was true then). Events
    come with select_related("actor"); two more queries, whatever their number."""
    events = list(events)
    actor_ids = {event.actor_id for event in events if event.actor_id}
    memberships: dict[int, list[Membership]] = {}
    for membership in (
        Membership.objects.filter(user_id__in=actor_ids)
        .select_related("organisation")
        .order_by("-started_at")
    ):
        memberships.setdefault(membership.user_id, []).append(membership)
    patient_users = [
        user_id for user_id, held in memberships.items() if any(m.role == Role.PATIENT for m in held)
    ]
    pseudonyms = (
        dict(Patient.objects.filter(user_id__in=patient_users).values_list("user_id", "pseudonym"))
        if patient_users
        else {}
    )
    entries = []
    for event in events:
        held = memberships.get(event.actor_id, [])
        membership = _role_at(held, event.occurred_at)
        role = ""
        if membership is not None:
            role = membership.get_role_display()
            if membership.organisation_id:
                role = f"{role}, {membership.organisation.name}"
        actor, username = _actor(event.actor, held, pseudonyms)
        entries.append(
            TrailEntry(
                event=event,
                label=action_label(event.action),
                actor=actor,
                username=username,
                role=role,
                changes=field_changes(event),
            )
        )
    return entries


def _described(event: AuditEvent) -> str:
    return f"event {event.id} ({event.action}, {event.content_type.model} {event.object_id} {event.object_repr!r})"


def chain_breaks() -> list[str]:
    """Every place where the chain does not hold, in words, naming the event; empty when it is intact.

    Each event is checked against its own hash (edited) and against the hash of the event before it in
    id order. When the link is broken, the event its previous_hash names tells a reordering (that event
    exists, elsewhere) from a removal (no event has that hash any more). The chain head catches the
    removal of the newest events, which no later event would notice."""
    problems = []
    previous: AuditEvent | None = None
    for event in AuditEvent.objects.select_related("content_type").order_by("id").iterator(chunk_size=2000):
        described = _described(event)
        if event_hash(event) != event.hash:
            problems.append(f"{described}: its content was changed after it was written")
        expected_previous = previous.hash if previous else GENESIS_HASH
        if event.previous_hash != expected_previous:
            written_after = AuditEvent.objects.filter(hash=event.previous_hash).only("id").first()
            if written_after is not None:
                problems.append(
                    f"{described}: out of order, it was written after event {written_after.id}, "
                    f"not after {f'event {previous.id}' if previous else 'the start of the chain'}"
                )
            else:
                problems.append(
                    f"{described}: the event written before it is missing "
                    "(removed, or changed together with its hash)"
                )
        previous = event
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != (previous.hash if previous else GENESIS_HASH):
        newest = _described(previous) if previous else "the start of the chain"
        problems.append(f"{newest}: events written after it are missing (the chain head names another hash)")
    return problems
