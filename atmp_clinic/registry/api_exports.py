"""`/api/v1/registry/export.csv` and `/api/v1/registry/export.ndjson`: the registry export (SPEC §6,
§7), streamed as it is read, so its size never sits in memory.

Only registry analysts export; anyone else gets 404, never 403 (SPEC §7). What a row holds, and
whose rows there are, is `registry.exports`' to say (and `registry.fhir`'s for FHIR)."""

from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.serializers import ValidationError
from rest_framework.views import APIView

from . import exports, fhir

NOT_YOURS = OpenApiResponse(description="Exporting the registry is not the caller's: only analysts do.")


class _ExportView(APIView):
    def perform_content_negotiation(self, request: Request, force: bool = False):
        # A client asking for text/csv must not get 406: the body is ours, errors fall back to JSON.
        return super().perform_content_negotiation(request, force=True)

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # The role is read after DRF has authenticated a token (the membership middleware runs before).
        if not exports.may_export(request.user):
            raise Http404


class RegistryCsvExportView(_ExportView):
    @extend_schema(
        operation_id="registry_export_csv",
        summary="Export a registry table as CSV",
        description="One table of the registry, streamed: `visits` (one row per follow-up visit), "
        "`outcomes` (one row per recorded visit outcome) or `adverse_events`. Only patients who were "
        "treated and whose registry consent is active, known by their pseudonym; never identity, contact "
        "data or free text. Every row starts with the pseudonym, the hospital's country, the product's ATMP "
        "class and the date of administration.",
        parameters=[
            OpenApiParameter(
                "table",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=True,
                enum=list(exports.TABLES),
                description="Which table to export.",
            )
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="The table, a header row first."
            ),
            400: OpenApiResponse(description="`table` is missing or not one of the tables."),
            404: NOT_YOURS,
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        table = request.query_params.get("table", "")
        try:
            lines = exports.csv_lines(table)
        except ValueError as error:
            raise ValidationError({"table": [str(error)]}) from None
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        filename = f"registry-{table}-{timezone.localdate():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class RegistryNdjsonExportView(_ExportView):
    @extend_schema(
        operation_id="registry_export_ndjson",
        summary="Export the registry as FHIR R4 NDJSON",
        description="The registry's consented, treated patients as HL7 FHIR R4 resources, one JSON "
        "resource per line, streamed: Patient (pseudonymous), Procedure, Encounter, Observation, "
        "AdverseEvent and Consent.",
        responses={
            (200, "application/fhir+ndjson"): OpenApiResponse(
                response=OpenApiTypes.STR, description="One FHIR resource per line."
            ),
            404: NOT_YOURS,
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        response = StreamingHttpResponse(fhir.ndjson_lines(), content_type="application/fhir+ndjson")
        filename = f"registry-{timezone.localdate():%Y-%m-%d}.ndjson"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
