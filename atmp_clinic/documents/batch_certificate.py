"""The batch release certificate (SPEC §2 Batch, §6): the chain-of-identity codes of one batch, each
release test against the product's specification, and the qualified person's release signature. An
exceptional release (released although a test failed) is marked at the top in red, with the
responsible physician's justification and signature."""

from django.utils.formats import date_format
from django.utils.text import slugify
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from atmp_clinic.audit.models import Signature, SignatureMeaning
from atmp_clinic.audit.selectors import signatures_for
from atmp_clinic.manufacturing.models import Batch

from . import pdf
from .pdf import Built

ALARM = colors.HexColor("#b00020")


def is_available(batch: Batch) -> bool:
    """A certificate certifies a release: none while the batch is in testing. An administered
    batch was released first, so it keeps its certificate."""
    return batch.released_at is not None


def is_exceptional(batch: Batch) -> bool:
    """Released although a test failed. Asked of the results, not the status, because an
    administered batch no longer says how it was released, and a justification written before the
    results were corrected to pass does not make a release exceptional."""
    return batch.results.filter(passed=False).exists()


def _latest(batch: Batch, meaning: str) -> Signature | None:
    return signatures_for(obj=batch).filter(meaning=meaning).order_by("-signed_at", "-id").first()


def _date(value) -> str:
    return date_format(value, "j F Y") if value else "—"


def _exceptional_mark(style: pdf.Styles) -> Table:
    """A red-framed banner that cannot be overlooked on the printed page."""
    banner = ParagraphStyle("banner", parent=style.title, textColor=ALARM, spaceAfter=0)
    mark = Table(
        [
            [Paragraph(pdf.text(_("EXCEPTIONAL RELEASE")), banner)],
            [
                Paragraph(
                    pdf.text(
                        _(
                            "Released although out of specification, on the responsible physician's "
                            "justification; the competent authority was notified."
                        )
                    ),
                    style.body,
                )
            ],
        ],
        colWidths=[A4[0] - 2 * pdf.MARGIN],
    )
    mark.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), pdf.FONT),  # else Helvetica, not embedded
                ("BOX", (0, 0), (-1, -1), 2.5, ALARM),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fdecee")),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, 0), 8),
            ]
        )
    )
    return mark


def _results(batch: Batch, style: pdf.Styles) -> list[Flowable]:
    results = list(batch.results.select_related("test").order_by("test_id"))
    failed = ParagraphStyle("failed", parent=style.header_cell, textColor=ALARM)
    rows = [
        [
            result.test.name,
            result.test.specification,
            result.shown,
            _("Yes") if result.passed else Paragraph(pdf.text(_("NO — out of specification")), failed),
        ]
        for result in results
    ]
    return [
        pdf.table(
            [_("Test"), _("Specification"), _("Result"), _("Meets specification")],
            rows,
            style=style,
            widths=[55 * mm, 40 * mm, 35 * mm, 40 * mm],
        )
    ]


def _signature(signature: Signature | None, style: pdf.Styles) -> list[Flowable]:
    if signature is None:
        return [Paragraph(pdf.text(_("No signature on record.")), style.body)]
    return pdf.signature_block(signature, style=style)


def build(batch: Batch) -> Built:
    style = pdf.styles()
    request, collection = batch.request, batch.collection
    hospital = request.hospital
    exceptional = is_exceptional(batch)
    title = _("Batch release certificate — %(batch)s") % {"batch": batch.batch_number}
    donation = collection.donation_identifier
    if collection.check_character:
        donation += f" [{collection.check_character}]"

    story: list[Flowable] = [Paragraph(pdf.text(title), style.title)]
    if exceptional:
        story += [_exceptional_mark(style), Spacer(1, 4 * mm)]
    story += [
        pdf.key_values(
            [
                (_("Batch number"), batch.batch_number),
                (_("Status"), batch.get_status_display()),
                (_("Exemption request"), request.reference),
                (_("Patient (pseudonym)"), request.patient.pseudonym),
                (_("Product"), request.product.name),
                (_("Hospital"), hospital.name),
                (_("Manufacturing authorisation"), hospital.manufacturing_authorisation_number or "—"),
                (_("Manufactured on"), _date(batch.manufactured_on)),
                (_("Expires on"), _date(batch.expires_on)),
            ],
            style=style,
        ),
        Paragraph(pdf.text(_("Chain of identity")), style.heading),
        pdf.key_values(
            [
                (_("Donation identification (SEC)"), donation),
                (_("Product identification (SEC)"), batch.product_code or "—"),
                (_("Starting material"), collection.material),
                (_("Collected"), f"{collection.collected_at:%Y-%m-%d %H:%M} UTC"),
                (_("Collection site"), collection.collection_site),
            ],
            style=style,
        ),
        Paragraph(pdf.text(_("Release testing")), style.heading),
        *_results(batch, style),
    ]
    if exceptional:
        story.append(
            KeepTogether(
                [
                    Paragraph(pdf.text(_("Justification of the exceptional release")), style.heading),
                    pdf.multiline(batch.exceptional_release_justification, style.body),
                    *_signature(_latest(batch, SignatureMeaning.EXCEPTIONAL_RELEASE), style),
                ]
            )
        )
    story.append(
        KeepTogether(
            [
                Paragraph(pdf.text(_("Release by the qualified person")), style.heading),
                *_signature(_latest(batch, SignatureMeaning.RELEASED), style),
            ]
        )
    )
    reference = f"{request.reference} · {batch.batch_number}"
    return Built(
        pdf=pdf.render(
            story,
            title=title,
            author=hospital.name,
            subject=_("Batch release certificate"),
            reference=reference,
        ),
        title=title,
        filename=f"batch-release-{slugify(batch.batch_number)}.pdf",
    )
