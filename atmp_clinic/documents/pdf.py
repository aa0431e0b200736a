"""What every document shares (SPEC §6): ReportLab's Platypus with the project's own Unicode font,
PDF metadata, a footer "<reference> · page X of Y", tables whose header row repeats on every page,
and the printed form of an electronic signature.

The font is DejaVu Sans, shipped in `fonts/` (Bitstream Vera licence, see fonts/LICENSE), not
looked up on the machine: the same bytes on every server, with the accented and the Greek and
Cyrillic letters of names ReportLab's built-in Helvetica cannot draw. ReportLab embeds the subset
of glyphs a document uses. Output is invariant (no creation time, no random ID), so the same
content makes the same bytes: the document's SHA-256 then identifies its content."""

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape  # nosec B406  # only escapes text for ReportLab markup; no XML is parsed

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from atmp_clinic.audit.models import Signature

FONTS = Path(__file__).parent / "fonts"
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
MARGIN = 20 * mm
GRID = colors.HexColor("#b0b7c3")
HEADER_FILL = colors.HexColor("#e8edf3")

rl_config.invariant = 1


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, FONTS / "DejaVuSans.ttf"))
    pdfmetrics.registerFont(TTFont(BOLD, FONTS / "DejaVuSans-Bold.ttf"))
    # <b> inside a Paragraph picks the bold face; DejaVu Sans Oblique is not shipped, so <i> stays upright.
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


_register_fonts()


@dataclass(frozen=True)
class Styles:
    """Paragraph styles at a base size: 10 pt for records, larger for a patient's letter."""

    body: ParagraphStyle
    small: ParagraphStyle
    heading: ParagraphStyle
    title: ParagraphStyle
    cell: ParagraphStyle
    header_cell: ParagraphStyle
    right: ParagraphStyle


def styles(size: float = 10) -> Styles:
    body = ParagraphStyle("body", fontName=FONT, fontSize=size, leading=size * 1.35, spaceAfter=size * 0.5)
    return Styles(
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=size * 0.8, leading=size * 1.05),
        # A heading stays on the page of what it introduces, never alone at the bottom of one.
        heading=ParagraphStyle(
            "heading",
            parent=body,
            fontName=BOLD,
            fontSize=size * 1.25,
            leading=size * 1.6,
            spaceBefore=size,
            keepWithNext=1,
        ),
        title=ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=size * 1.7, leading=size * 2.1),
        cell=ParagraphStyle("cell", parent=body, fontSize=size * 0.9, leading=size * 1.15, spaceAfter=0),
        header_cell=ParagraphStyle(
            "header_cell", parent=body, fontName=BOLD, fontSize=size * 0.9, leading=size * 1.15, spaceAfter=0
        ),
        right=ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
    )


@dataclass(frozen=True)
class Built:
    """A document as its builder made it: the PDF, its title, the name to download it under."""

    pdf: bytes
    title: str
    filename: str


def text(value: object) -> str:
    """A value as Paragraph markup: escaped, so a name with '<' or '&' prints as typed."""
    return "" if value is None else escape(str(value))


def lines(values: Iterable[object], style: ParagraphStyle) -> Paragraph:
    """Lines of text, each escaped, as one paragraph: an address, or text typed on several lines."""
    return Paragraph("<br/>".join(text(value) for value in values), style)


def multiline(value: str, style: ParagraphStyle) -> Paragraph:
    """Text as it was typed, its line breaks kept; a dash when there is none."""
    return lines(value.splitlines() if value.strip() else ["—"], style)


def _cell(value: object, cell_style: ParagraphStyle) -> Flowable:
    """Escaped text, or a flowable (e.g. a Paragraph with markup) as it is."""
    return value if isinstance(value, Flowable) else Paragraph(text(value), cell_style)


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    style: Styles,
    widths: Sequence[float] | None = None,
) -> Table:
    """A table whose cells wrap and whose header row is repeated on every page it spans."""

    data = [[_cell(value, style.header_cell) for value in header]]
    data += [[_cell(value, style.cell) for value in row] for row in rows]
    result = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    result.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT),  # a table sets its own font, Helvetica unless told
                ("GRID", (0, 0), (-1, -1), 0.5, GRID),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return result


def key_values(pairs: Sequence[tuple[str, object]], *, style: Styles) -> Table:
    """Label: value lines, labels in bold, for a record's fields."""
    data = [[Paragraph(text(label), style.header_cell), _cell(value, style.cell)] for label, value in pairs]
    result = Table(data, colWidths=[55 * mm, None], hAlign="LEFT")
    result.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return result


def digest(value: str, style: Styles) -> Paragraph:
    """A SHA-256 small enough to stay on one line, to be compared or copied as printed."""
    return Paragraph(text(value), ParagraphStyle("digest", parent=style.cell, fontSize=7, leading=9))


def signature_block(signature: Signature, *, style: Styles) -> list[Flowable]:
    """The signature manifestation (21 CFR 11.50): printed name, date and time (UTC), meaning."""
    return [
        key_values(
            [
                (_("Signed by"), signature.printed_name),
                (_("Date and time"), f"{signature.signed_at:%Y-%m-%d %H:%M:%S} UTC"),
                (_("Meaning"), signature.get_meaning_display()),
                (_("Content SHA-256"), digest(signature.content_hash, style)),
            ],
            style=style,
        ),
        Spacer(1, 4 * mm),
    ]


def _numbered_canvas(reference: str, font_size: float) -> type[Canvas]:
    """A canvas that holds its pages until the end, so each footer can say "page X of Y"."""
    page_label = _("Page %(number)d of %(total)d")

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            # Otherwise each page starts in Helvetica, a font not embedded in the file.
            super().__init__(*args, **{**kwargs, "initialFontName": FONT})
            self._pages = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, page in enumerate(self._pages, start=1):
                self.__dict__.update(page)
                self.setFont(FONT, font_size)
                self.setFillColor(colors.HexColor("#444444"))
                self.drawString(MARGIN, 12 * mm, reference)
                self.drawRightString(A4[0] - MARGIN, 12 * mm, page_label % {"number": number, "total": total})
                super().showPage()
            super().save()

    return NumberedCanvas


def render(
    story: list[Flowable], *, title: str, author: str, subject: str, reference: str, footer_size: float = 8
) -> bytes:
    """The story as an A4 PDF with its metadata (title, author, subject, language) and numbered
    footers, in the active language (translation.override it for a patient's letter)."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 6 * mm,
        title=title,
        author=author,
        subject=subject,
        creator="ATMP Clinic",
        lang=translation.get_language() or settings.LANGUAGE_CODE,
    )
    document.build(story, canvasmaker=_numbered_canvas(reference, footer_size))
    return buffer.getvalue()
