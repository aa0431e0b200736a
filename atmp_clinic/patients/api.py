"""`/api/v1/patients/`: list, retrieve and enrol. What a caller may not see answers 404 (SPEC §7)."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import ValidationError, as_serializer_error

from atmp_clinic.accounts.selectors import active_membership

from . import services
from .forms import PatientIdentityForm
from .models import Patient
from .selectors import can_see_identity, ids_with_identity_visible_to, patients_visible_to
from .serializers import PatientEnrolmentSerializer, PatientSerializer


@extend_schema_view(
    list=extend_schema(
        description="The patients of the caller's hospital, for its pharmacists and clinicians; "
        "identity and contact fields only for those who may see them."
    ),
    retrieve=extend_schema(description="One patient; 404 for a patient the caller may not see."),
)
# No update or delete: clinical records are never deleted, and corrections are their own actions.
class PatientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = PatientSerializer

    def get_queryset(self):
        return patients_visible_to(user=self.request.user)

    def _serialize(self, patients, *, identity_visible: set[int], many: bool = False) -> dict | list:
        context = self.get_serializer_context() | {"identity_visible": identity_visible}
        return PatientSerializer(patients, many=many, context=context).data

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        identity_visible = ids_with_identity_visible_to(user=request.user, patients=page)
        return self.get_paginated_response(
            self._serialize(page, identity_visible=identity_visible, many=True)
        )

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        patient = self.get_object()
        return Response(self._serialize(patient, identity_visible=self._identity_visible(patient)))

    @extend_schema(
        description="Enrol a patient in the caller's hospital (pharmacists and clinicians; 404 for others).",
        request=PatientEnrolmentSerializer,
        responses={201: PatientSerializer},
    )
    def create(self, request: Request) -> Response:
        # The caller's role is read here, not from request.membership: the middleware that sets it
        # runs before DRF has authenticated a token.
        membership = active_membership(user=request.user)
        if membership is None or membership.role not in services.HOSPITAL_STAFF:
            raise Http404
        enrolment = PatientEnrolmentSerializer(data=request.data)
        enrolment.is_valid(raise_exception=True)
        hospital = membership.organisation
        # As in the browser: language and time zone the caller leaves out are the hospital country's.
        fields = PatientIdentityForm.initial_for(hospital.country) | enrolment.validated_data
        try:
            patient = services.patient_create(actor=request.user, hospital=hospital, **fields)
        except DjangoValidationError as error:
            raise ValidationError(as_serializer_error(error)) from None
        except PermissionDenied:
            raise Http404 from None
        patient = self.get_queryset().get(pk=patient.pk)
        return Response(
            self._serialize(patient, identity_visible=self._identity_visible(patient)),
            status=status.HTTP_201_CREATED,
        )

    def _identity_visible(self, patient: Patient) -> set[int]:
        return {patient.pk} if can_see_identity(user=self.request.user, patient=patient) else set()
