"""`/api/v1/exemptions/`: requests, their detail, drafts, and the steps of SPEC §4 as
`exemptions/{id}/transitions/{name}/`. What a caller may not see, or a step they may not take,
answers 404 (SPEC §7); every rule is the services'."""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer, ValidationError, as_serializer_error
from rest_framework.settings import api_settings

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.accounts.selectors import active_membership, has_role_in
from atmp_clinic.audit.selectors import events_for

from . import services
from .models import IN_REVIEW_STATES, Assessment, ExemptionRequest
from .selectors import requests_visible_to, review_clock
from .serializers import (
    AssessmentBodySerializer,
    DecisionBodySerializer,
    ExemptionRequestCreateSerializer,
    ExemptionRequestDetailSerializer,
    ExemptionRequestSerializer,
    ExemptionRequestUpdateSerializer,
    InformationAnswerBodySerializer,
    InformationQuestionsBodySerializer,
    RequestFilterSerializer,
    ReturnBodySerializer,
    RevocationBodySerializer,
    SignatureBodySerializer,
    SuspensionBodySerializer,
    TransitionErrorSerializer,
    ValidationBodySerializer,
    WithdrawalBodySerializer,
)


@dataclass(frozen=True)
class Step:
    """One step of SPEC §4 as the API offers it: the body it reads and the service it calls."""

    body: type[Serializer]
    service: Callable
    description: str


# The body's fields are the service's keyword arguments, by the same names.
STEPS: dict[str, Step] = {
    "co_sign": Step(
        SignatureBodySerializer,
        services.request_co_sign,
        "The responsible physician signs the complete request as it stands (draft or returned).",
    ),
    "submit": Step(
        SignatureBodySerializer,
        services.request_submit,
        "The pharmacist signs and sends the request to the authority; the physician's signature must "
        "be current.",
    ),
    "validate": Step(
        ValidationBodySerializer,
        services.request_validate,
        "A validator of the authority finds the submitted request complete; assessment begins.",
    ),
    "return": Step(
        ReturnBodySerializer,
        services.request_return,
        "A validator returns the submitted request as incomplete, saying what is missing.",
    ),
    "request_information": Step(
        InformationQuestionsBodySerializer,
        services.request_ask_information,
        "A validator or assessor asks the hospital questions; the review clock stops until the answer.",
    ),
    "answer_information": Step(
        InformationAnswerBodySerializer,
        services.request_answer_information,
        "The pharmacist answers the authority's questions; the review clock runs again.",
    ),
    "record_assessment": Step(
        AssessmentBodySerializer,
        services.assessment_record,
        "An assessor records the quality or the clinical assessment; with both, the request is ready "
        "for decision. The two must come from different assessors.",
    ),
    "decide": Step(
        DecisionBodySerializer,
        services.request_decide,
        "A decider, who assessed nothing of this request (four eyes), decides and signs.",
    ),
    "withdraw": Step(
        WithdrawalBodySerializer,
        services.request_withdraw,
        "The pharmacist withdraws the request before a decision.",
    ),
    "suspend": Step(
        SuspensionBodySerializer, services.permit_suspend, "A decider suspends an approval, with the reason."
    ),
    "revoke": Step(
        RevocationBodySerializer,
        services.permit_revoke,
        "A decider revokes an approval (suspended or not), with the reason.",
    ),
}


def may_take(name: str, *, actor: User, request: ExemptionRequest) -> bool:
    """Whether the step is the actor's at all (the state aside), so that a step that is not theirs
    answers 404 before its body is read. The services check again, under lock."""
    return services.TRANSITIONS[name].may(actor, request)


def by_field(error: DjangoValidationError) -> dict:
    """A model's errors by field, those of no one field under DRF's name for them, as the body's own."""
    errors = as_serializer_error(error)
    if NON_FIELD_ERRORS in errors:
        errors[api_settings.NON_FIELD_ERRORS_KEY] = errors.pop(NON_FIELD_ERRORS)
    return errors


def refusal(message: str, code: int, **extra) -> Response:
    return Response({"detail": message, **extra}, status=code)


TRANSITION_RESPONSES = {
    200: ExemptionRequestDetailSerializer,
    400: OpenApiResponse(
        TransitionErrorSerializer,
        description="A rule stops the step (`detail`; `missing` by field when the request is incomplete), "
        "or the body is invalid (messages by field, e.g. `password` when the signature's password is wrong).",
    ),
    404: OpenApiResponse(description="The request is not visible to the caller, or the step is not theirs."),
    409: OpenApiResponse(
        TransitionErrorSerializer,
        description="The request is no longer in a state that allows the step: someone acted first.",
    ),
}


@extend_schema_view(
    list=extend_schema(
        description="The requests the caller may see: hospital staff their hospital's, an authority's "
        "reviewers those addressed to it from submission on. Each carries the review clock while in review.",
        parameters=[RequestFilterSerializer],
    ),
    retrieve=extend_schema(
        description="One request with its review, the steps the caller may take now and its audit trail; "
        "404 for a request the caller may not see."
    ),
)
class ExemptionRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ExemptionRequestDetailSerializer

    def get_queryset(self) -> QuerySet[ExemptionRequest]:
        # The clock reads information_requests: prefetched, a page costs the same queries at any size.
        queryset = (
            requests_visible_to(user=self.request.user)
            .prefetch_related("information_requests")
            .order_by("-created_at", "-pk")
        )
        if self.action == "list":
            return queryset
        return queryset.select_related(
            "responsible_physician", "modifies", "decision__decided_by"
        ).prefetch_related(Prefetch("assessments", queryset=Assessment.objects.select_related("assessor")))

    def get_serializer_class(self) -> type[Serializer]:
        return ExemptionRequestSerializer if self.action == "list" else ExemptionRequestDetailSerializer

    def list(self, request: Request, *args, **kwargs) -> Response:
        filters = RequestFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = self.get_queryset()
        if "state" in filters.validated_data:
            queryset = queryset.filter(state=filters.validated_data["state"])
        if filters.validated_data["overdue"]:
            # The due date depends on the clock stops, so the clock itself decides, over the requests in
            # review only (a worklist's worth): the same rule as every clock shown.
            queryset = [
                exemption
                for exemption in queryset.filter(state__in=IN_REVIEW_STATES)
                if (clock := review_clock(request=exemption)) and clock.is_overdue
            ]
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return self._detail(self.get_object())

    @extend_schema(
        description="A new draft, by a pharmacist, for a patient and a product of their hospital "
        "(404 for anyone else).",
        request=ExemptionRequestCreateSerializer,
        responses={201: ExemptionRequestDetailSerializer},
    )
    def create(self, request: Request) -> Response:
        # The role is read here, not from request.membership: the middleware that sets it runs before
        # DRF has authenticated a token.
        membership = active_membership(user=request.user)
        if membership is None or membership.role != Role.PHARMACIST:
            raise Http404
        body = ExemptionRequestCreateSerializer(
            data=request.data, context=self.get_serializer_context() | {"hospital": membership.organisation}
        )
        body.is_valid(raise_exception=True)
        return self._act(
            lambda: services.request_create(actor=request.user, **body.validated_data), created=True
        )

    @extend_schema(
        description="Change what the hospital wrote, while the request is a draft or returned "
        "(pharmacists of its hospital; 409 in any other state).",
        request=ExemptionRequestUpdateSerializer,
        responses={200: ExemptionRequestDetailSerializer, 409: TRANSITION_RESPONSES[409]},
    )
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        exemption = self.get_object()
        if not has_role_in(user=request.user, organisation=exemption.hospital, roles={Role.PHARMACIST}):
            raise Http404
        body = ExemptionRequestUpdateSerializer(
            data=request.data,
            partial=True,
            context=self.get_serializer_context() | {"hospital": exemption.hospital},
        )
        body.is_valid(raise_exception=True)
        return self._act(
            lambda: services.request_update(actor=request.user, request=exemption, **body.validated_data),
            exemption,
        )

    def _transition(self, name: str, request: Request) -> Response:
        exemption = self.get_object()
        if not may_take(name, actor=request.user, request=exemption):
            raise Http404
        step = STEPS[name]
        body = step.body(data=request.data)
        body.is_valid(raise_exception=True)
        return self._act(
            lambda: step.service(actor=request.user, request=exemption, **body.validated_data), exemption
        )

    @extend_schema(exclude=True)
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[^/.]+)", url_name="transition")
    def transition_by_name(self, request: Request, pk=None, name: str = "") -> Response:
        """Any name without an action of its own answers 404. (A known name routed here, should the
        URL order ever change, is served the same.)"""
        if name not in STEPS:
            raise NotFound(f'There is no step "{name}". The steps are: {", ".join(STEPS)}.')
        return self._transition(name, request)

    def _act(self, change, exemption: ExemptionRequest | None = None, *, created: bool = False) -> Response:
        """Run a service; answer its refusals as SPEC §7 says, or with the detail of `exemption` (or of
        the request the service created) after it."""
        try:
            result = change()
        except PermissionDenied:
            raise Http404 from None
        except DjangoValidationError as error:
            raise ValidationError(by_field(error)) from None
        except services.IncompleteRequest as error:
            return refusal(str(error), status.HTTP_400_BAD_REQUEST, missing=error.missing)
        except services.TransitionConflict as error:
            return refusal(str(error), status.HTTP_409_CONFLICT)
        except services.TransitionRefused as error:
            return refusal(str(error), status.HTTP_400_BAD_REQUEST)
        shown = self.get_queryset().get(pk=(exemption or result).pk)
        return self._detail(shown, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _detail(self, exemption: ExemptionRequest, code: int = status.HTTP_200_OK) -> Response:
        context = self.get_serializer_context() | {"timeline": list(events_for(obj=exemption))}
        return Response(ExemptionRequestDetailSerializer(exemption, context=context).data, status=code)


def _step_action(name: str, step: Step):
    def perform(self, request: Request, pk=None) -> Response:
        return self._transition(name, request)

    perform.__name__ = perform.__qualname__ = f"transition_{name}"
    perform.__doc__ = step.description
    perform = action(
        detail=True, methods=["post"], url_path=f"transitions/{name}", url_name=f"transition-{name}"
    )(perform)
    return extend_schema(
        summary=f"Transition: {name}",
        description=step.description,
        request=step.body,
        responses=TRANSITION_RESPONSES,
    )(perform)


# One action per step, so that the schema documents each step's own body.
for _name, _step in STEPS.items():
    setattr(ExemptionRequestViewSet, f"transition_{_name}", _step_action(_name, _step))
