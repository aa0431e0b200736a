"""`/api/v1/batches/`: the chain of identity (SPEC §2 Batch, Administration). Batches, their
detail, a collection with its batch, and the steps of a batch as `batches/{id}/steps/{name}/`.
What a caller may not see, or a step they may not take, answers 404 (SPEC §7); every rule is the
services'."""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer, ValidationError

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.accounts.selectors import active_membership, visible_to
from atmp_clinic.audit.selectors import events_for, signatures_for
from atmp_clinic.exemptions.api import by_field, refusal

from . import services
from .models import Batch, ReleaseResult
from .selectors import may_take_step
from .serializers import (
    AdministrationBodySerializer,
    AdministrationCorrectionBodySerializer,
    BatchCreateSerializer,
    BatchDetailSerializer,
    BatchFilterSerializer,
    BatchSerializer,
    CollectionCorrectionBodySerializer,
    CorrectionBodySerializer,
    JustificationBodySerializer,
    ReleaseBodySerializer,
    ResultBodySerializer,
    StepErrorSerializer,
)


def _correct(*, actor: User, batch: Batch, **fields):
    """The result is the body's, already limited to this batch's results."""
    return services.result_correct(actor=actor, **fields)


@dataclass(frozen=True)
class Step:
    """One step of a batch as the API offers it: the body it reads, who may take it, and the service
    it calls with the body's fields as keyword arguments, by the same names."""

    body: type[Serializer]
    service: Callable
    description: str


STEPS: dict[str, Step] = {
    "record_result": Step(
        ResultBodySerializer,
        services.result_record,
        "A pharmacist of the hospital records the result of one test of the product's specification: "
        "`value` for a test with limits, `observation` for a test with an expected result. Whether it "
        "passes is computed from the specification. Only while the batch is in release testing.",
    ),
    "correct_result": Step(
        CorrectionBodySerializer,
        _correct,
        "A pharmacist of the hospital corrects a wrong result, with the reason; the audit trail keeps "
        "what it said before. Only while the batch is in release testing.",
    ),
    "justify_exceptional_release": Step(
        JustificationBodySerializer,
        services.exceptional_release_justify,
        "The request's responsible physician states, and signs, why a batch with results out of "
        "specification should still be given to this patient.",
    ),
    "release": Step(
        ReleaseBodySerializer,
        services.batch_release,
        "A qualified person of the hospital releases the batch and signs. Every test needs a result; out "
        "of specification it is released only as an exceptional release that the responsible physician "
        "justified and signed, and the authority is told at once.",
    ),
    "administer": Step(
        AdministrationBodySerializer,
        services.administration_record,
        "A clinician of the hospital records the administration of a released batch. The codes read at "
        "the bedside from the patient's wristband and the batch's label must be this batch's.",
    ),
    "correct_collection": Step(
        CollectionCorrectionBodySerializer,
        lambda *, actor, batch, **fields: services.collection_correct(
            actor=actor, collection=batch.collection, **fields
        ),
        "A pharmacist or clinician of the hospital corrects the material, time or site of the batch's "
        "collection, with the reason; the audit trail keeps what it said before.",
    ),
    "correct_administration": Step(
        AdministrationCorrectionBodySerializer,
        lambda *, actor, batch, **fields: services.administration_correct(
            actor=actor, administration=batch.administration, **fields
        ),
        "A clinician of the hospital corrects the time or dose of the batch's administration, with the reason.",
    ),
}


STEP_RESPONSES = {
    200: BatchDetailSerializer,
    400: OpenApiResponse(
        StepErrorSerializer,
        description="A rule of the chain of identity stops the step (`detail`: out of specification, a "
        "bedside code that is not this batch's, a batch no longer in testing…), or the body is invalid "
        "(messages by field, e.g. `value` for a percentage over 100, `password` for a wrong signature).",
    ),
    404: OpenApiResponse(description="The batch is not visible to the caller, or the step is not theirs."),
}


@extend_schema_view(
    list=extend_schema(
        description="The batches the caller may see: hospital staff their hospital's, an authority's "
        "reviewers those made under requests addressed to it.",
        parameters=[BatchFilterSerializer],
    ),
    retrieve=extend_schema(
        description="One batch along the chain of identity: collection, release results and missing "
        "tests, signatures, administration and audit trail; 404 for a batch the caller may not see."
    ),
)
# No update or delete: a batch changes only through its steps, and records are never deleted.
class BatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = BatchDetailSerializer

    def get_queryset(self) -> QuerySet[Batch]:
        failed = ReleaseResult.objects.filter(batch=OuterRef("pk"), passed=False)
        batches = (
            Batch.objects.select_related("request__patient", "request__product", "collection", "released_by")
            .annotate(has_out_of_specification=Exists(failed))
            .order_by("-created_at", "-pk")
        )
        visible = visible_to(user=self.request.user, queryset=batches, perm="view")
        return self._with_chain(visible) if self.action == "retrieve" else visible

    @staticmethod
    def _with_chain(batches: QuerySet[Batch]) -> QuerySet[Batch]:
        """What the detail shows beyond the list: results, the specification, the administration."""
        return batches.select_related("administration__administered_by").prefetch_related(
            Prefetch("results", queryset=ReleaseResult.objects.select_related("test", "recorded_by")),
            "request__product__release_tests",
        )

    def get_serializer_class(self) -> type[Serializer]:
        return BatchSerializer if self.action == "list" else BatchDetailSerializer

    def list(self, request: Request, *args, **kwargs) -> Response:
        filters = BatchFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = self.get_queryset()
        if "status" in filters.validated_data:
            queryset = queryset.filter(status=filters.validated_data["status"])
        if "request" in filters.validated_data:
            queryset = queryset.filter(request_id=filters.validated_data["request"])
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return self._detail(self.get_object())

    @extend_schema(
        description="Record the starting material collected for an approved request of the caller's "
        "hospital and the batch made from it, in one step (pharmacists; 404 for anyone else). The "
        "donation identifier is checked as the Single European Code defines it.",
        request=BatchCreateSerializer,
        responses={201: BatchDetailSerializer, 400: STEP_RESPONSES[400]},
    )
    def create(self, request: Request) -> Response:
        # The role is read here, not from request.membership: the middleware that sets it runs before
        # DRF has authenticated a token.
        membership = active_membership(user=request.user)
        if membership is None or membership.role != Role.PHARMACIST:
            raise Http404
        body = BatchCreateSerializer(
            data=request.data, context=self.get_serializer_context() | {"hospital": membership.organisation}
        )
        body.is_valid(raise_exception=True)

        def record() -> Batch:
            with transaction.atomic():  # no collection is left behind by a batch refused
                collection = services.collection_record(
                    actor=request.user, request=body.validated_data["request"], **body.collection_fields()
                )
                return services.batch_create(actor=request.user, collection=collection, **body.batch_fields())

        return self._act(record, created=True)

    def _step(self, name: str, request: Request, pk) -> Response:
        batch = self.get_object()
        step = STEPS[name]
        if not may_take_step(user=request.user, batch=batch, step=name):
            raise Http404
        body = step.body(data=request.data, context=self.get_serializer_context() | {"batch": batch})
        body.is_valid(raise_exception=True)
        return self._act(lambda: step.service(actor=request.user, batch=batch, **body.validated_data), batch)

    @extend_schema(exclude=True)
    @action(detail=True, methods=["post"], url_path=r"steps/(?P<name>[^/.]+)", url_name="step")
    def step_by_name(self, request: Request, pk=None, name: str = "") -> Response:
        """Any name without an action of its own answers 404. (A known name routed here, should the
        URL order ever change, is served the same.)"""
        if name not in STEPS:
            raise NotFound(f'There is no step "{name}". The steps are: {", ".join(STEPS)}.')
        return self._step(name, request, pk)

    def _act(self, change: Callable, batch: Batch | None = None, *, created: bool = False) -> Response:
        """Run a service; answer its refusals as SPEC §7 says, or with the detail of `batch` (or of the
        batch the service created) after it."""
        try:
            result = change()
        except PermissionDenied:
            raise Http404 from None
        except DjangoValidationError as error:
            raise ValidationError(by_field(error)) from None
        except services.ChainRefused as error:
            return refusal(str(error), status.HTTP_400_BAD_REQUEST)
        shown = self._with_chain(self.get_queryset()).get(pk=(batch or result).pk)
        return self._detail(shown, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _detail(self, batch: Batch, code: int = status.HTTP_200_OK) -> Response:
        context = self.get_serializer_context() | {
            "missing_tests": services.missing_results(batch=batch),
            "signatures": list(signatures_for(obj=batch)),
            "timeline": list(events_for(obj=batch)),
        }
        return Response(BatchDetailSerializer(batch, context=context).data, status=code)


def _step_action(name: str, step: Step):
    def perform(self, request: Request, pk=None) -> Response:
        return self._step(name, request, pk)

    perform.__name__ = perform.__qualname__ = f"step_{name}"
    perform.__doc__ = step.description
    perform = action(detail=True, methods=["post"], url_path=f"steps/{name}", url_name=f"step-{name}")(
        perform
    )
    return extend_schema(
        summary=f"Step: {name}", description=step.description, request=step.body, responses=STEP_RESPONSES
    )(perform)


# One action per step, so that the schema documents each step's own body.
for _name, _step in STEPS.items():
    setattr(BatchViewSet, f"step_{_name}", _step_action(_name, _step))
