from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet

from .models import AuditChainHead, AuditEvent, Signature
from .services import GENESIS_HASH, event_hash


def events_for(*, obj: models.Model) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).select_related("actor")


def trail(*, obj: models.Model) -> list[tuple[AuditEvent, str]]:
    """A record's events, each with its action as a page shows it ("visit_recorded" → "Visit recorded")."""
    return [(event, event.action.replace("_", " ").capitalize()) for event in events_for(obj=obj)]


def signatures_for(*, obj: models.Model) -> QuerySet[Signature]:
    return Signature.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)


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
