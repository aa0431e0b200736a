"""Documents filed with a request: PDFs checked by their content, kept, signed over, and served only
to those who may see the request."""

from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfWriter

from atmp_clinic.exemptions import services
from atmp_clinic.exemptions.services import TransitionConflict, TransitionRefused
from tests.conftest import signature_of
from tests.exemptions.conftest import client_for, new_draft, user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def pdf(pages: int = 1, password: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password:
        writer.encrypt(password)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def upload(content: bytes, name: str = "qp-cv.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def attach(request, content: bytes, name: str = "qp-cv.pdf", username: str = "pharmacist"):
    return services.attachment_add(
        actor=user(username), request=request, file=upload(content, name), description="CV"
    )


def test_a_pdf_is_attached_with_its_pages_and_hash():
    import hashlib

    content = pdf(pages=2)
    attachment = attach(new_draft(), content)
    assert (attachment.pages, attachment.sha256) == (2, hashlib.sha256(content).hexdigest())


def test_the_file_is_stored_under_its_hash_not_its_name(media):
    attachment = attach(new_draft(), pdf(), name="../../etc/passwd.pdf")
    assert attachment.file.name == f"requests/{attachment.request_id}/{attachment.sha256}.pdf"
    assert (media / attachment.file.name).read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Just some text, saved as .pdf", "not a PDF"),
        (b"%PDF-1.7\nthis is not really a PDF at all", "not a PDF"),
        (b"", "empty"),
    ],
    ids=["text", "fake-header", "empty"],
)
def test_files_that_are_not_readable_pdfs_are_refused(content, message):
    with pytest.raises(ValidationError, match=message):
        attach(new_draft(), content)


def test_a_password_protected_pdf_is_refused():
    with pytest.raises(ValidationError, match="password-protected"):
        attach(new_draft(), pdf(password="secret"))


def test_a_file_over_the_limit_is_refused_with_the_limit(settings):
    settings.MAX_ATTACHMENT_MB = 1
    with pytest.raises(ValidationError, match="up to 1 MB"):
        attach(new_draft(), pdf() + b"%" * (1024 * 1024 + 1))


def test_the_same_document_is_attached_once():
    draft = new_draft()
    content = pdf()
    attach(draft, content)
    with pytest.raises(ValidationError, match="already attached"):
        attach(draft, content, name="again.pdf")


def test_clinician_cannot_attach():
    with pytest.raises(services.PermissionDenied):
        attach(new_draft(), pdf(), username="clinician")


def test_nothing_is_attached_while_the_authority_holds_the_request():
    draft = new_draft()
    services.request_co_sign(actor=user("clinician"), request=draft, **signature_of(user("clinician")))
    services.request_submit(actor=user("pharmacist"), request=draft, **signature_of(user("pharmacist")))
    with pytest.raises(TransitionConflict, match="can no longer be attached"):
        attach(draft, pdf())


def test_a_document_added_after_the_physician_signed_needs_a_new_signature():
    draft = new_draft()
    services.request_co_sign(actor=user("clinician"), request=draft, **signature_of(user("clinician")))
    attach(draft, pdf())
    with pytest.raises(TransitionRefused, match="changed since they signed"):
        services.request_submit(actor=user("pharmacist"), request=draft, **signature_of(user("pharmacist")))


# --- through the pages ---


def test_pharmacist_attaches_through_the_page():
    draft = new_draft()
    response = client_for("pharmacist").post(
        reverse("attachment-create", args=[draft.pk]), {"file": upload(pdf()), "description": "QP's CV"}
    )
    assert response.status_code == 302 and draft.attachments.count() == 1


def test_a_refused_upload_says_why_and_keeps_the_description():
    draft = new_draft()
    response = client_for("pharmacist").post(
        reverse("attachment-create", args=[draft.pk]),
        {"file": upload(b"not a pdf", "cv.pdf"), "description": "Typed description"},
    )
    page = response.content.decode()
    assert response.status_code == 400 and "This file is not a PDF" in page and "Typed description" in page


@pytest.mark.parametrize(("username", "status"), [("pharmacist", 200), ("clinician", 200), ("reviewer", 200),
                                                  ("pharmacist_2", 404), ("reviewer_b", 404), ("analyst", 404)])  # fmt: skip
def test_download_of_a_submitted_document_by_role_and_organisation(username, status):
    draft = new_draft()
    content = pdf()
    attachment = attach(draft, content)
    services.request_co_sign(actor=user("clinician"), request=draft, **signature_of(user("clinician")))
    services.request_submit(actor=user("pharmacist"), request=draft, **signature_of(user("pharmacist")))
    response = client_for(username).get(reverse("attachment-download", args=[draft.pk, attachment.pk]))
    assert response.status_code == status
    if status == 200:
        assert (response["Content-Type"], b"".join(response.streaming_content)) == (
            "application/pdf",
            content,
        )


def test_authority_cannot_download_from_a_draft():
    draft = new_draft()
    attachment = attach(draft, pdf())
    response = client_for("reviewer").get(reverse("attachment-download", args=[draft.pk, attachment.pk]))
    assert response.status_code == 404
