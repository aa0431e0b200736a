from django import template
from django.urls import reverse

from atmp_clinic.audit.models import AuditEvent
from atmp_clinic.audit.trails import trail_key

register = template.Library()


@register.filter
def trail_url(event: AuditEvent) -> str:
    """The full trail page of the record an event is about; empty for a record type without one."""
    key = trail_key(event)
    return reverse("audit-record-trail", args=[key, event.object_id]) if key else ""


@register.filter
def record_trail_url(record) -> str:
    """The full trail page of a record (one of audit.trails.RECORD_TYPES)."""
    return reverse("audit-record-trail", args=[record._meta.label_lower, record.pk])
