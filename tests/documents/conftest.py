"""Reading the PDFs back as a user's software would: pypdf for text and metadata, poppler's
pdftoppm for pixels."""

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from tests.conftest import require_service


def pdf_reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def pdf_text(pdf: bytes) -> str:
    """All the text a reader can select, page after page."""
    return "\n".join(page.extract_text() for page in pdf_reader(pdf).pages)


def unfooted_pages(pdf: bytes, reference: str) -> list[int]:
    """The pages whose footer lacks the reference or "Page X of Y": none in a proper document."""
    pages = pdf_reader(pdf).pages
    texts = [page.extract_text() for page in pages]
    return [
        number
        for number, text in enumerate(texts, start=1)
        if reference not in text or f"Page {number} of {len(pages)}" not in text
    ]


def embedded_fonts(pdf: bytes) -> dict[str, bool]:
    """Each font the pages use, and whether its glyphs are embedded in the file."""
    fonts = {}
    for page in pdf_reader(pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            fonts[str(font["/BaseFont"])] = any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    return fonts


def first_page_png(pdf: bytes) -> Image.Image:
    """The first page rendered at 50 dpi by pdftoppm (Debian's poppler-utils)."""
    require_service("pdftoppm", None if shutil.which("pdftoppm") else "poppler-utils is not installed")
    with tempfile.TemporaryDirectory() as folder:
        source, page = Path(folder) / "document.pdf", Path(folder) / "page"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "50", "-singlefile", source, page],
            capture_output=True,
            check=True,
            timeout=60,
        )
        image = Image.open(page.with_suffix(".png"))
        image.load()
        return image


def ink_share(image: Image.Image) -> float:
    """The share of pixels that are not white: 0 for a blank page."""
    grey = image.convert("L")
    histogram = grey.histogram()
    return 1 - sum(histogram[250:]) / sum(histogram)


def assert_a_proper_document(pdf: bytes, *, title: str) -> str:
    """What every document must be (issue 7): tagged with title, author and subject, selectable
    text, every font embedded, a first page that is not blank. Returns its text."""
    metadata = pdf_reader(pdf).metadata
    assert metadata.title == title
    assert metadata.author and metadata.subject
    fonts = embedded_fonts(pdf)
    assert fonts and all(fonts.values()), fonts
    assert ink_share(first_page_png(pdf)) > 0.005
    text = pdf_text(pdf)
    assert title in text or title.split(" — ")[0] in text
    return text


@pytest.fixture
def document_media(settings, tmp_path):
    """Issued documents written to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
