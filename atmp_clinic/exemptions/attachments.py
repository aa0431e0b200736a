"""Checking that an upload is a PDF a reviewer can open: by its content, never by its name."""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from pypdf import PdfReader
from pypdf.errors import PyPdfError

NOT_A_PDF = "This file is not a PDF. Save the document as PDF and attach it again."
EMPTY = "This file is empty."
ENCRYPTED = (
    "This PDF is password-protected, so the authority could not read it. Attach it without a password."
)


@dataclass(frozen=True)
class CheckedPdf:
    sha256: str
    size: int
    pages: int


def check_pdf(upload: UploadedFile) -> CheckedPdf:
    limit = settings.MAX_ATTACHMENT_MB * 1024 * 1024
    if upload.size == 0:
        raise ValidationError({"file": EMPTY})
    if upload.size > limit:
        raise ValidationError(
            {
                "file": f"This file is {upload.size / 1024 / 1024:.1f} MB; attachments may be up to {settings.MAX_ATTACHMENT_MB} MB."
            }
        )
    upload.seek(0)
    if upload.read(5) != b"%PDF-":
        raise ValidationError({"file": NOT_A_PDF})
    upload.seek(0)
    try:
        reader = PdfReader(upload, strict=False)
        if reader.is_encrypted:
            raise ValidationError({"file": ENCRYPTED})
        pages = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:  # pypdf's ways of saying "broken"
        raise ValidationError({"file": NOT_A_PDF}) from exc
    if pages == 0:
        raise ValidationError({"file": NOT_A_PDF})
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedPdf(sha256=digest.hexdigest(), size=upload.size, pages=pages)
