"""`/api/v1/visits/`: follow-up visits (SPEC §2, §7), their detail, and what a clinician of the
patient's hospital does to one: `record/`, `missed/`, `reschedule/`.

Who sees a visit is `visits_visible_to`'s to say, as in the browser: whoever sees the patient (the
hospital's staff) or the exemption request (the authority). Anyone else, a patient user included
(they have their upcoming visits in the portal, not these records), gets 404 and finds nothing in
the list. As on the other endpoints, a caller who sees the visit but may not change it (a
pharmacist, the authority) also gets 404, never 403 (SPEC §7). A rule that stops a change, including a visit no
longer open to it (already completed, missed, or its plan ended), answers 400 with messages by
field or under `non_field_errors`; every rule is the services'."""

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer, ValidationError

from atmp_clinic.exemptions.api import by_field

from . import services
from .models import FollowUpVisit
from .selectors import may_change_visit, visits_visible_to
from .serializers import (
    VisitFilterSerializer,
    VisitMissedBodySerializer,
    VisitRecordBodySerializer,
    VisitRescheduleBodySerializer,
    VisitSerializer,
)

CHANGE_RESPONSES = {
    200: VisitSerializer,
    400: OpenApiResponse(
        description="The body is invalid or a rule stops the change, with messages by field (e.g. "
        "`performed_on` before the administration or in the future, `out_of_window_reason` missing for a "
        "date outside the window) or under `non_field_errors` (the visit is no longer open to it)."
    ),
    404: OpenApiResponse(
        description="The visit is not visible to the caller, or changing it is not theirs: only a clinician "
        "of the patient's hospital records, misses and reschedules visits."
    ),
}


@extend_schema_view(
    list=extend_schema(
        description="The follow-up visits the caller may see, by due date: hospital staff their patients', "
        "an authority's reviewers those of the requests addressed to it.",
        parameters=[VisitFilterSerializer],
    ),
    retrieve=extend_schema(description="One visit; 404 for a visit the caller may not see."),
)
# No create, update or delete: plans make their visits, and a visit changes only through its actions.
class VisitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = VisitSerializer

    def get_queryset(self) -> QuerySet[FollowUpVisit]:
        # The patient's hospital is selected for may_change_visit; the rest is what the serializer shows.
        return (
            visits_visible_to(user=self.request.user)
            .select_related("plan__patient__hospital", "recorded_by")
            .order_by("due_on", "pk")
        )

    def list(self, request: Request, *args, **kwargs) -> Response:
        filters = VisitFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        queryset = self.get_queryset()
        if "status" in wanted:
            queryset = queryset.filter(status=wanted["status"])
        if "due_before" in wanted:
            queryset = queryset.filter(due_on__lte=wanted["due_before"])
        if "due_after" in wanted:
            queryset = queryset.filter(due_on__gte=wanted["due_after"])
        if wanted["overdue"]:
            # The same rule as FollowUpVisit.is_overdue, as a filter.
            queryset = queryset.filter(status=FollowUpVisit.Status.SCHEDULED, due_on__lt=timezone.localdate())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _change(self, request: Request, body_class: type[Serializer], service: Callable) -> Response:
        visit = self.get_object()
        if not may_change_visit(user=request.user, visit=visit):
            raise Http404
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            service(actor=request.user, visit=visit, **body.validated_data)
        except PermissionDenied:
            raise Http404 from None
        except DjangoValidationError as error:
            raise ValidationError(by_field(error)) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=visit.pk)).data)

    @extend_schema(
        summary="Record a visit as done",
        description="A clinician of the patient's hospital records the date the visit took place, not "
        "before the administration nor in the future; outside the visit's window, with the reason. A "
        "missed visit that took place after all may be recorded too.",
        request=VisitRecordBodySerializer,
        responses=CHANGE_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def record(self, request: Request, pk=None) -> Response:
        return self._change(request, VisitRecordBodySerializer, services.visit_record)

    @extend_schema(
        summary="Record a visit as missed",
        description="A clinician of the patient's hospital records that a scheduled visit did not take "
        "place, once its window has opened. Two consecutive misses flag the patient at risk of loss to "
        "follow-up.",
        request=VisitMissedBodySerializer,
        responses=CHANGE_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def missed(self, request: Request, pk=None) -> Response:
        return self._change(request, VisitMissedBodySerializer, services.visit_mark_missed)

    @extend_schema(
        summary="Reschedule a visit",
        description="A clinician of the patient's hospital gives a scheduled visit a new date, today or "
        "later, with the reason. The protocol's window stays as it was and `originally_due_on` keeps the "
        "plan's date, so compliance is still measured against them.",
        request=VisitRescheduleBodySerializer,
        responses=CHANGE_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk=None) -> Response:
        return self._change(request, VisitRescheduleBodySerializer, services.visit_reschedule)
