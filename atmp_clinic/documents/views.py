"""What every document download does once its record was found (with the record page's own
permission, 404 otherwise): build it, record it as issued, send it as an attachment."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.http import HttpRequest, HttpResponse

from .services import document_issue


@dataclass(frozen=True)
class Built:
    """A document as its builder made it."""

    pdf: bytes
    title: str
    filename: str


def issued_pdf(
    request: HttpRequest, *, kind: str, record: models.Model, build: Callable[[], Built]
) -> HttpResponse:
    built = build()
    document_issue(
        kind=kind,
        record=record,
        pdf=built.pdf,
        title=built.title,
        filename=built.filename,
        actor=request.user,
    )
    response = HttpResponse(built.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{built.filename}"'
    return response
