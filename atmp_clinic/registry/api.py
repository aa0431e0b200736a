"""`/api/v1/adverse-events/`: adverse events (SPEC §2, §7), their detail, and recording one.

Who sees an event is `adverse_events_visible_to`'s to say, as in the browser: whoever sees the
patient's plan (the hospital's staff) or its exemption request (the authority). Anyone else, a
patient user included, gets 404 and finds nothing in the list. An event's expedited report shows only
to those who may see the report: the hospital's staff, and the authority once it is submitted.

Only a clinician of the patient's hospital records an event; anyone else gets 404, never 403 (SPEC
§7), and a plan or visit the caller may not refer to answers 400 "there is none with this id", as
one that does not exist. A rule that stops the recording answers 400 with messages by field; every
rule is the services'. A serious adverse reaction (serious, and possibly related) opens its expedited
report to the authority, due by the authority's rules."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import ValidationError

from atmp_clinic.accounts.models import Role
from atmp_clinic.accounts.selectors import active_membership
from atmp_clinic.exemptions.api import by_field

from . import services
from .models import AdverseEvent
from .selectors import adverse_events_visible_to, expedited_reports_visible_to
from .serializers import (
    CRITERIA_OF_KIND,
    AdverseEventBodySerializer,
    AdverseEventFilterSerializer,
    AdverseEventSerializer,
)


@extend_schema_view(
    list=extend_schema(
        description="The adverse events the caller may see, by onset: hospital staff their patients', an "
        "authority's reviewers those of the requests addressed to it.",
        parameters=[AdverseEventFilterSerializer],
    ),
    retrieve=extend_schema(description="One adverse event; 404 for an event the caller may not see."),
)
# No update or delete: clinical records are never deleted, and corrections are their own actions.
class AdverseEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AdverseEventSerializer

    def get_queryset(self) -> QuerySet[AdverseEvent]:
        user = self.request.user
        # The report through the caller's own selector: the authority sees an open one as no report.
        reports = Prefetch("expedited_report", queryset=expedited_reports_visible_to(user=user))
        return (
            adverse_events_visible_to(user=user)
            .select_related("patient", "recorded_by")
            .prefetch_related(reports)
            .order_by("onset_on", "pk")
        )

    def list(self, request: Request, *args, **kwargs) -> Response:
        filters = AdverseEventFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        queryset = self.get_queryset()
        if wanted.get("serious") is not None:
            queryset = queryset.filter(serious=wanted["serious"])
        if "kind" in wanted:
            queryset = queryset.filter(kind=wanted["kind"])
        if "grade_min" in wanted:
            queryset = queryset.filter(grade__gte=wanted["grade_min"])
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Record an adverse event",
        description="A clinician of the patient's hospital records an adverse event after the "
        "administration: a general event with its CTCAE grade, or CRS or ICANS with the ASTCT criteria, "
        "from which the grade is computed (`grading_reasons` says how). A serious event that may be related "
        "to the product opens an expedited report to the authority, due by its rules.",
        request=AdverseEventBodySerializer,
        responses={
            201: AdverseEventSerializer,
            400: OpenApiResponse(
                description="The body is invalid or a rule stops the recording, with messages by field: e.g. "
                "`onset_on` before the administration or in the future, `outcome` not fatal for grade 5, "
                "`crs` criteria that contradict one another or show no CRS, `plan` not one of the caller's "
                "hospital."
            ),
            404: OpenApiResponse(
                description="Recording adverse events is not the caller's: only clinicians do."
            ),
        },
    )
    def create(self, request: Request) -> Response:
        # The role is read here, not from request.membership: the middleware that sets it runs before
        # DRF has authenticated a token.
        membership = active_membership(user=request.user)
        if membership is None or membership.role != Role.CLINICIAN:
            raise Http404
        body = AdverseEventBodySerializer(
            data=request.data, context=self.get_serializer_context() | {"hospital": membership.organisation}
        )
        body.is_valid(raise_exception=True)
        try:
            event = services.adverse_event_record(actor=request.user, **body.validated_data)
        except PermissionDenied:
            raise Http404 from None
        except DjangoValidationError as error:
            raise ValidationError(_as_body(by_field(error), kind=body.validated_data["kind"])) from None
        shown = self.get_queryset().get(pk=event.pk)
        return Response(self.get_serializer(shown).data, status=status.HTTP_201_CREATED)


def _as_body(errors: dict, *, kind: str) -> dict:
    """For CRS and ICANS the caller gives criteria, not a grade: a grade refused (no CRS, no ICANS) is
    answered on the criteria they gave."""
    criteria = CRITERIA_OF_KIND.get(kind)
    if criteria and "grade" in errors:
        errors[criteria] = errors.pop("grade")
    return errors
