"""A record's audit trail as CSV, one line at a time so that a long trail streams in constant memory."""

import csv
from collections.abc import Iterator

from django.db.models import QuerySet

from .models import AuditEvent
from .selectors import trail_entries

HEADER = [
    "event_id",
    "occurred_at_utc",
    "actor",
    "action",
    "field",
    "before",
    "after",
    "reason",
    "event_hash",
]
CHUNK_SIZE = 500
# A spreadsheet runs a cell that starts with one of these as a formula: typed text must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like object that hands back what csv.writer writes, so each row is encoded on its own."""

    def write(self, value: str) -> str:
        return value


def _inert(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) and not _is_number(value) else value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _chunks(events: QuerySet[AuditEvent]) -> Iterator[list[AuditEvent]]:
    chunk: list[AuditEvent] = []
    for event in events.select_related("actor").order_by("id").iterator(chunk_size=CHUNK_SIZE):
        chunk.append(event)
        if len(chunk) == CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def trail_csv_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """The header, then a line per field each event changed (one line, field empty, for an event that
    changed none), oldest event first."""
    writer = csv.writer(_Line(), lineterminator="\n")
    yield writer.writerow(HEADER)
    for chunk in _chunks(events):
        for entry in trail_entries(chunk):
            event = entry.event
            actor = f"{entry.actor} ({entry.username})" if entry.username else entry.actor
            common = [event.id, event.occurred_at.isoformat(), actor, event.action]
            tail = [_inert(event.reason), event.hash]
            if not entry.changes:
                yield writer.writerow([*common, "", "", "", *tail])
            for change in entry.changes:
                yield writer.writerow(
                    [*common, change.field, _inert(change.before), _inert(change.after), *tail]
                )
