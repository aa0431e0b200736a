"""The audit trail for people: a record's trail (page, CSV, PDF) for exactly those who see the
record, and a search over the trail for authority reviewers and administrators. Anyone else, and
any record type not listed in trails.RECORD_TYPES, gets 404."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from atmp_clinic.documents import audit_trail
from atmp_clinic.documents.models import DocumentKind
from atmp_clinic.documents.views import issued_pdf

from .exports import trail_csv_lines
from .forms import AuditSearchForm
from .selectors import CheckedSignature, checked_signatures, events_for, trail_entries
from .services import record_event
from .trails import (
    RecordType,
    may_open_trails,
    may_search,
    search_events,
    shown_record,
    trail_key,
    visible_record,
)

PAGE_SIZE = 50


def _record_or_404(request: HttpRequest, record_type: str, pk: int) -> tuple[RecordType, models.Model]:
    found = visible_record(user=request.user, key=record_type, pk=pk)
    if found is None:
        raise Http404
    return found


def _signatures(kind: RecordType, record: models.Model) -> list[CheckedSignature] | None:
    """None for a kind of record that is never signed."""
    if kind.signed_content is None:
        return None
    return checked_signatures(obj=record, content=kind.signed_content(record))


@require_GET
@login_required
def record_trail(request: HttpRequest, record_type: str, pk: int) -> HttpResponse:
    kind, record = _record_or_404(request, record_type, pk)
    context = {
        "kind": kind,
        "record": record,
        "record_page": kind.page(record),
        "entries": trail_entries(events_for(obj=record)),
        "signatures": _signatures(kind, record),
    }
    return render(request, "audit/record_trail.html", context)


@require_GET
@login_required
def record_trail_csv(request: HttpRequest, record_type: str, pk: int) -> StreamingHttpResponse:
    _kind, record = _record_or_404(request, record_type, pk)
    record_event(actor=request.user, obj=record, action="audit_trail_exported", after={"format": "csv"})
    response = StreamingHttpResponse(
        trail_csv_lines(events_for(obj=record)), content_type="text/csv; charset=utf-8"
    )
    filename = f"{slugify(str(record)) or 'record'}-audit-trail.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@login_required
def record_trail_pdf(request: HttpRequest, record_type: str, pk: int) -> HttpResponse:
    kind, record = _record_or_404(request, record_type, pk)
    return issued_pdf(
        request,
        kind=DocumentKind.AUDIT_TRAIL,
        record=record,
        build=lambda: audit_trail.build(
            record_name=kind.name,
            reference=str(record),
            entries=trail_entries(events_for(obj=record)),
            signatures=_signatures(kind, record),
        ),
    )


@require_GET
@login_required
def search(request: HttpRequest) -> HttpResponse:
    # Checked first: the page does not exist for those who may not search.
    if not may_search(user=request.user):
        raise Http404
    form = AuditSearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "audit/search.html", {"form": form}, status=400)
    events = search_events(user=request.user, **(form.cleaned_data if form.is_bound else {}))
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": [(entry, shown_record(entry.event), trail_key(entry.event)) for entry in trail_entries(page)],
        "query": query.urlencode(),
        "links_to_trails": may_open_trails(user=request.user),
    }
    return render(request, "audit/search.html", context)
