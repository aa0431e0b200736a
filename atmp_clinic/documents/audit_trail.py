"""A record's audit trail as a document: every event with its time (UTC), actor and role, action,
the fields it changed from → to, the reason and the event's hash; then the record's signatures,
each with whether the record still matches what was signed."""

from django.utils.text import slugify
from django.utils.translation import gettext as _
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from atmp_clinic.audit.selectors import CheckedSignature, TrailEntry

from . import pdf
from .pdf import Built

EVENT_WIDTHS = [30 * mm, 22 * mm, 30 * mm, 22 * mm, 40 * mm, 26 * mm]


def _changes(entry: TrailEntry, style: pdf.Styles) -> Paragraph:
    return pdf.lines(
        [f"{change.field}: {change.before or '—'} → {change.after or '—'}" for change in entry.changes]
        or ["—"],
        style.cell,
    )


def _event_row(entry: TrailEntry, style: pdf.Styles) -> list[object]:
    event = entry.event
    return [
        # In four lines of 16: a SHA-256 has no space to wrap at and would run out of its column.
        pdf.lines(
            [f"#{event.id}", *(event.hash[start : start + 16] for start in range(0, 64, 16))],
            ParagraphStyle("hash", parent=style.cell, fontSize=7, leading=9),
        ),
        pdf.lines([f"{event.occurred_at:%Y-%m-%d}", f"{event.occurred_at:%H:%M:%S} UTC"], style.cell),
        pdf.lines([entry.actor, entry.role] if entry.role else [entry.actor], style.cell),
        entry.label,
        _changes(entry, style),
        event.reason or "—",
    ]


def _signatures(signatures: list[CheckedSignature], style: pdf.Styles) -> list[Flowable]:
    if not signatures:
        return [Paragraph(pdf.text(_("Not signed.")), style.body)]
    story: list[Flowable] = []
    for checked in signatures:
        manifestation, _spacing = pdf.signature_block(checked.signature, style=style)
        story += [
            manifestation,
            Paragraph(f"<b>{pdf.text(checked.status.capitalize())}</b>", style.body),
            Spacer(1, 4 * mm),
        ]
    return story


def build(
    *, record_name: str, reference: str, entries: list[TrailEntry], signatures: list[CheckedSignature] | None
) -> Built:
    """`record_name` says what the record is ("Exemption request"), `reference` which one;
    `signatures` is None for a kind of record that is never signed."""
    style = pdf.styles()
    title = _("Audit trail — %(reference)s") % {"reference": reference}
    story: list[Flowable] = [
        Paragraph(pdf.text(title), style.title),
        Paragraph(pdf.text(f"{record_name}: {reference}"), style.body),
        Paragraph(pdf.text(_("Events")), style.heading),
    ]
    if entries:
        story.append(
            pdf.table(
                [
                    _("Event, hash"),
                    _("When"),
                    _("Who"),
                    _("Action"),
                    _("Changed from → to"),
                    _("Reason"),
                ],
                [_event_row(entry, style) for entry in entries],
                style=style,
                widths=EVENT_WIDTHS,
            )
        )
    else:
        story.append(Paragraph(pdf.text(_("Nothing recorded.")), style.body))
    if signatures is not None:
        story += [Paragraph(pdf.text(_("Signatures")), style.heading), *_signatures(signatures, style)]
    return Built(
        pdf=pdf.render(
            story,
            title=title,
            author="ATMP Clinic",
            subject=_("Audit trail of %(record)s %(reference)s")
            % {"record": record_name.lower(), "reference": reference},
            reference=reference,
        ),
        title=title,
        filename=f"{slugify(reference) or 'record'}-audit-trail.pdf",
    )
