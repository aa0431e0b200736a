"""The records whose audit trail people read, who may read each, and the search over the trail.

A record's trail is seen by exactly those who see the record: each record type below names the
selector its own page uses. Kept apart from selectors.py because it reads every app's selectors
and services, which themselves write through audit.services."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.accounts.selectors import active_membership
from atmp_clinic.exemptions.models import Decision, ExemptionRequest
from atmp_clinic.exemptions.selectors import requests_visible_to
from atmp_clinic.exemptions.services import decision_content, request_content
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.followup.selectors import plans_visible_to, visits_visible_to
from atmp_clinic.manufacturing.models import Batch
from atmp_clinic.manufacturing.selectors import batches_visible_to
from atmp_clinic.manufacturing.services import release_content
from atmp_clinic.registry.models import AdverseEvent, ExpeditedReport, OutcomeRecord
from atmp_clinic.registry.selectors import (
    adverse_events_visible_to,
    expedited_reports_visible_to,
    outcomes_visible_to,
)

from .models import AuditEvent
from .selectors import actions_named


@dataclass(frozen=True)
class RecordType:
    model: type[models.Model]
    name: str  # as the trail search offers it, in the reader's language
    visible_to: Callable[..., QuerySet]
    page: Callable[[models.Model], str]
    # What its signatures were given over, built again from the record as it stands.
    signed_content: Callable[[models.Model], dict] | None = None

    @property
    def key(self) -> str:
        return self.model._meta.label_lower


def _decisions_visible_to(*, user: User) -> QuerySet[Decision]:
    """The decision is shown on its request's page, to whoever sees the request."""
    return Decision.objects.filter(request__in=requests_visible_to(user=user).values("pk"))


# The str() of each of these models names no patient (pseudonyms only), so their stored
# object_repr may be shown to an authority: tests/audit/test_trail_search.py checks it.
RECORD_TYPES: dict[str, RecordType] = {
    record_type.key: record_type
    for record_type in (
        RecordType(
            ExemptionRequest,
            _("Exemption request"),
            requests_visible_to,
            lambda r: reverse("request-detail", args=[r.pk]),
            request_content,
        ),
        RecordType(
            Decision,
            _("Decision"),
            _decisions_visible_to,
            lambda d: reverse("request-detail", args=[d.request_id]),
            decision_content,
        ),
        RecordType(
            Batch,
            _("Batch"),
            batches_visible_to,
            lambda b: reverse("batch-detail", args=[b.pk]),
            release_content,
        ),
        RecordType(
            FollowUpPlan, _("Follow-up plan"), plans_visible_to, lambda p: reverse("plan-detail", args=[p.pk])
        ),
        RecordType(
            FollowUpVisit,
            _("Follow-up visit"),
            visits_visible_to,
            lambda v: reverse("visit-detail", args=[v.pk]),
        ),
        RecordType(
            OutcomeRecord,
            _("Outcome record"),
            outcomes_visible_to,
            lambda o: reverse("visit-detail", args=[o.visit_id]),
        ),
        RecordType(
            AdverseEvent,
            _("Adverse event"),
            adverse_events_visible_to,
            lambda e: reverse("adverse-event-detail", args=[e.pk]),
        ),
        RecordType(
            ExpeditedReport,
            _("Expedited report"),
            expedited_reports_visible_to,
            lambda r: reverse("expedited-report-detail", args=[r.pk]),
        ),
    )
}


def record_type_of(key: str) -> RecordType | None:
    return RECORD_TYPES.get(key)


def visible_record(*, user: User, key: str, pk: int) -> tuple[RecordType, models.Model] | None:
    """The record, when `key` names a record type and `user` may see that record; None otherwise."""
    record_type = record_type_of(key)
    if record_type is None:
        return None
    record = record_type.visible_to(user=user).filter(pk=pk).first()
    return (record_type, record) if record is not None else None


def trail_key(event: AuditEvent) -> str | None:
    """The record type key of the event's record, when it is one whose trail has a page."""
    label = ContentType.objects.get_for_id(event.content_type_id)
    key = f"{label.app_label}.{label.model}"
    return key if key in RECORD_TYPES else None


def shown_record(event: AuditEvent) -> str:
    """What a list says the event is about: the stored description for the record types above, and
    only the type and id for any other, whose description nobody checked for a patient's name."""
    if trail_key(event) is not None:
        return event.object_repr
    model = ContentType.objects.get_for_id(event.content_type_id).model_class()
    name = str(model._meta.verbose_name).capitalize() if model else "Record"
    return f"{name} {event.object_id}"


# --- The search ------------------------------------------------------------------------------


def may_search(*, user: User) -> bool:
    membership = active_membership(user=user)
    return membership is not None and membership.role in (Role.REVIEWER, Role.ADMINISTRATOR)


def may_open_trails(*, user: User) -> bool:
    """A reviewer searches only events of records they see, so each result links to its trail; an
    administrator searches all events, but sees records only where granted, like anyone."""
    membership = active_membership(user=user)
    return membership is not None and membership.role == Role.REVIEWER


def searchable_events(*, user: User) -> QuerySet[AuditEvent]:
    """An administrator searches every event; an authority reviewer the events of the records their
    authority sees (its country's requests and what hangs from them); anyone else nothing."""
    membership = active_membership(user=user)
    if membership is None:
        return AuditEvent.objects.none()
    if membership.role == Role.ADMINISTRATOR:
        return AuditEvent.objects.all()
    if membership.role != Role.REVIEWER:
        return AuditEvent.objects.none()
    seen = Q(pk__in=[])
    for record_type in RECORD_TYPES.values():
        seen |= Q(
            content_type=ContentType.objects.get_for_model(record_type.model),
            object_id__in=record_type.visible_to(user=user).order_by().values("pk"),
        )
    return AuditEvent.objects.filter(seen)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def search_events(
    *,
    user: User,
    occurred_from: date | None = None,
    occurred_to: date | None = None,
    actor: str = "",
    action: str = "",
    record_type: str = "",
    reference: str = "",
) -> QuerySet[AuditEvent]:
    """The events `user` may search that match every filter given; days are UTC days, both ends
    included; newest first."""
    events = searchable_events(user=user)
    if occurred_from:
        events = events.filter(occurred_at__gte=_day_start(occurred_from))
    if occurred_to:
        events = events.filter(occurred_at__lt=_day_start(occurred_to + timedelta(days=1)))
    if actor:
        events = events.filter(actor__username__iexact=actor)
    if action:
        events = events.filter(action__in=actions_named(action))
    if record_type:
        events = events.filter(
            content_type=ContentType.objects.get_for_model(RECORD_TYPES[record_type].model)
        )
    if reference:
        # Only the descriptions that may be shown are searched: a match elsewhere would tell what
        # a hidden description contains.
        shown_types = [ContentType.objects.get_for_model(t.model) for t in RECORD_TYPES.values()]
        events = events.filter(content_type__in=shown_types, object_repr__icontains=reference)
    return events.select_related("actor").order_by("-occurred_at", "-id")
