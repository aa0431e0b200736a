"""The shared layer every document is built on: metadata, embedded Unicode font, numbered footers,
tables that repeat their header, invariant output; and issuing and verifying a document."""

import hashlib

import pytest
from django.core.management import CommandError, call_command
from reportlab.platypus import Paragraph

from atmp_clinic.audit.selectors import events_for
from atmp_clinic.documents import pdf
from atmp_clinic.documents.models import DocumentKind, IssuedDocument
from atmp_clinic.documents.services import document_issue
from atmp_clinic.exemptions.models import ExemptionRequest
from tests.documents.conftest import assert_a_proper_document, pdf_reader, pdf_text, unfooted_pages
from tests.exemptions.conftest import user

NAMES = [
    "Zoë Ångström-Müller",
    "François Nuñez Çelik",
    "Δημήτρης Παπαδόπουλος",
    "Юлия Иванова",
    "Łukasz Żółć",
]


def sample(rows: int = 3, reference: str = "HE-2026-000042") -> bytes:
    style = pdf.styles()
    story = [
        Paragraph("Sample document", style.title),
        *(Paragraph(pdf.text(name), style.body) for name in NAMES),
        pdf.table(
            ["Patient", "Visit"], [[NAMES[n % len(NAMES)], f"Visit {n}"] for n in range(rows)], style=style
        ),
    ]
    return pdf.render(
        story, title="Sample document", author="ATMP Clinic", subject="A test", reference=reference
    )


def test_a_document_is_tagged_embeds_its_font_and_is_not_blank():
    assert_a_proper_document(sample(), title="Sample document")


def test_accented_and_non_latin_names_come_out_as_typed():
    text = pdf_text(sample())
    assert [name for name in NAMES if name not in text] == []


def test_every_page_has_the_reference_and_page_x_of_y():
    document = sample(rows=200)
    assert len(pdf_reader(document).pages) > 2
    assert unfooted_pages(document, "HE-2026-000042") == []


def test_a_long_table_repeats_its_header_on_every_page():
    pages = pdf_reader(sample(rows=200)).pages
    assert all("Patient" in page.extract_text() and "Visit" in page.extract_text() for page in pages)
    assert "Visit 199" in pages[-1].extract_text()


def test_markup_in_a_value_is_printed_not_interpreted():
    style = pdf.styles()
    story = [pdf.table(["Name"], [["<b>Smith & Sons</b>"]], style=style)]
    document = pdf.render(story, title="T", author="A", subject="S", reference="R")
    assert "<b>Smith & Sons</b>" in pdf_text(document)


def test_the_same_content_makes_the_same_bytes():
    assert sample() == sample()
    assert sample() != sample(reference="HE-2026-000043")


# --- Issuing and verifying -------------------------------------------------------------------------


@pytest.fixture
def issued(db, demo, document_media):
    request = ExemptionRequest.objects.order_by("pk").first()
    content = sample()
    document = document_issue(
        kind=DocumentKind.REQUEST_DOSSIER, record=request, pdf=content, title="Sample document",
        filename="sample.pdf", actor=user("pharmacist"),
    )  # fmt: skip
    return document, content


def test_an_issued_document_is_stored_with_its_hash_and_audited(issued):
    document, content = issued
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.file.read() == content
    event = events_for(obj=document.record).last()
    assert (event.action, event.after["sha256"]) == ("document_issued", document.sha256)


def test_an_issued_document_is_never_changed_or_deleted(issued):
    document, _ = issued
    with pytest.raises(Exception, match="never changed"):
        document.save()
    with pytest.raises(Exception, match="never deleted"):
        document.delete()
    assert IssuedDocument.objects.filter(pk=document.pk).exists()


def test_verify_document_accepts_the_issued_file(issued, tmp_path, capsys):
    document, content = issued
    path = tmp_path / "copy.pdf"
    path.write_bytes(content)
    call_command("verify_document", str(path))
    out = capsys.readouterr().out
    assert out.startswith("VERIFIED") and document.sha256 in out and str(document.record) in out


def test_verify_document_refuses_a_tampered_file(issued, tmp_path):
    _, content = issued
    tampered = content.replace(b"Sample document", b"Simple document", 1)
    assert tampered != content
    path = tmp_path / "tampered.pdf"
    path.write_bytes(tampered)
    with pytest.raises(CommandError, match="NOT VERIFIED"):
        call_command("verify_document", str(path))


def test_verify_document_says_when_the_file_cannot_be_read(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("verify_document", str(tmp_path / "missing.pdf"))
