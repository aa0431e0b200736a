from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet

from .models import AuditEvent, Signature
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


def chain_breaks() -> list[str]:
    """Every place where the chain does not hold, in words; empty when it is intact."""
    problems = []
    expected_previous = GENESIS_HASH
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        if event.previous_hash != expected_previous:
            problems.append(f"event {event.id}: an event before it was removed, reordered or changed")
        if event_hash(event) != event.hash:
            problems.append(f"event {event.id}: its content was changed after it was written")
        expected_previous = event.hash
    return problems
