"""The JSON shapes of hospital-exemption requests (SPEC §7 `exemptions/`): the list item, the detail,
the bodies that create and edit a draft, and the body of each step of SPEC §4.

Patients appear by pseudonym only, never by identity. What the caller may refer to in a body (a
patient, a product, a physician, a permit) is limited to their own hospital, so an id of another
hospital's object answers "no such …" and reveals nothing."""

from collections.abc import Mapping

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from atmp_clinic.accounts.models import Organisation, Role, User
from atmp_clinic.accounts.selectors import visible_to
from atmp_clinic.audit.models import AuditEvent
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product
from atmp_clinic.products.selectors import products_visible_to

from . import services
from .models import (
    APPROVED_STATES,
    Assessment,
    AssessmentKind,
    Decision,
    ExemptionRequest,
    FollowUpTemplate,
    InformationRequest,
    Outcome,
    Recommendation,
    State,
)
from .selectors import requests_visible_to, review_clock

SIGNATURE_NEEDED = "Enter your password again: it is your electronic signature."


def person_name(user: User | None) -> str | None:
    return (user.get_full_name() or user.username) if user else None


def choice(choices, *, what: str, **kwargs) -> serializers.ChoiceField:
    """A choice field whose refusal names the choices there are."""
    values = ", ".join(value for value, _ in choices)
    return serializers.ChoiceField(
        choices=choices,
        error_messages={"invalid_choice": f'"{{input}}" is not a {what}: use one of {values}.'},
        **kwargs,
    )


def text(message: str, **kwargs) -> serializers.CharField:
    """A text that must be written; left out or blank, the answer says what to write."""
    return serializers.CharField(
        error_messages={"required": message, "blank": message, "null": message}, **kwargs
    )


def signature() -> serializers.CharField:
    # Not trimmed: spaces are part of a password.
    return text(SIGNATURE_NEEDED, trim_whitespace=False, write_only=True, style={"input_type": "password"})


def signature_code() -> serializers.CharField:
    return serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=32,
        write_only=True,
        help_text="For a signer with a second factor: the code their authenticator app shows now, or an "
        "unused recovery code. Each code signs once.",
    )


# --- read ------------------------------------------------------------------------------------


class OrganisationRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name"]


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user: User) -> str:
        return person_name(user)


class PatientRefSerializer(serializers.ModelSerializer):
    """A patient by pseudonymous code: identity never leaves the patients/ endpoint."""

    class Meta:
        model = Patient
        fields = ["id", "pseudonym"]


class ProductRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "name", "atmp_class"]


class RequestRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExemptionRequest
        fields = ["id", "reference"]


class StateSerializer(serializers.Serializer):
    value = serializers.ChoiceField(choices=State.choices, source="state", read_only=True)
    label = serializers.CharField(source="get_state_display", read_only=True)


class ReviewClockSerializer(serializers.Serializer):
    """The authority's review clock (SPEC §4): days in review, clock stops excluded, and the due date."""

    phase = serializers.ChoiceField(choices=["validation", "assessment"], read_only=True)
    days_in_review = serializers.IntegerField(read_only=True)
    stopped_days = serializers.IntegerField(read_only=True)
    is_stopped = serializers.BooleanField(read_only=True)
    due_on = serializers.DateField(read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)


class ExemptionRequestSerializer(serializers.ModelSerializer):
    """A request as lists show it, with the authority's review clock while it is in review."""

    # Give it requests with information_requests prefetched: the clock reads them.

    state = StateSerializer(source="*", read_only=True)
    hospital = OrganisationRefSerializer(read_only=True)
    authority = OrganisationRefSerializer(read_only=True)
    patient = PatientRefSerializer(read_only=True)
    product = ProductRefSerializer(read_only=True)
    clock = serializers.SerializerMethodField()

    class Meta:
        model = ExemptionRequest
        fields = [
            "id",
            "reference",
            "state",
            "kind",
            "hospital",
            "authority",
            "patient",
            "product",
            "indication_code",
            "submitted_at",
            "clock",
        ]
        read_only_fields = fields

    @extend_schema_field(ReviewClockSerializer(allow_null=True))
    def get_clock(self, request: ExemptionRequest) -> dict | None:
        clock = review_clock(request=request)
        return ReviewClockSerializer(clock).data if clock else None


class AssessmentSerializer(serializers.ModelSerializer):
    assessor = serializers.SerializerMethodField()

    class Meta:
        model = Assessment
        fields = ["kind", "assessor", "recommendation", "report", "recorded_at"]

    def get_assessor(self, assessment: Assessment) -> str:
        return person_name(assessment.assessor)


class InformationRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = InformationRequest
        fields = ["questions", "asked_at", "answer_due_on", "answer", "answered_at"]


class DecisionSerializer(serializers.ModelSerializer):
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = Decision
        fields = [
            "outcome",
            "reasons",
            "conditions",
            "follow_up_years",
            "follow_up_template",
            "reporting_duties",
            "valid_until",
            "decided_at",
            "decided_by",
        ]

    def get_decided_by(self, decision: Decision) -> str:
        return person_name(decision.decided_by)


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "occurred_at", "reason", "before", "after"]

    def get_actor(self, event: AuditEvent) -> str | None:
        """None for the system's own steps (a request lapsing)."""
        return person_name(event.actor)


class ExemptionRequestDetailSerializer(ExemptionRequestSerializer):
    """Everything about a request: what the hospital wrote, the steps the caller may take now, the
    authority's review and the audit trail (`timeline`, oldest first)."""

    # The timeline comes from the context (`timeline`), read with the audit selector.

    modifies = RequestRefSerializer(read_only=True, allow_null=True)
    responsible_physician = PersonSerializer(read_only=True, allow_null=True)
    available_transitions = serializers.SerializerMethodField()
    assessments = AssessmentSerializer(many=True, read_only=True)
    information_requests = InformationRequestSerializer(many=True, read_only=True)
    decision = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()

    class Meta(ExemptionRequestSerializer.Meta):
        fields = [
            *ExemptionRequestSerializer.Meta.fields,
            *services.EDITABLE_FIELDS,
            "created_at",
            "updated_at",
            "validated_at",
            "available_transitions",
            "assessments",
            "information_requests",
            "decision",
            "timeline",
        ]
        read_only_fields = fields

    def get_available_transitions(self, request: ExemptionRequest) -> list[str]:
        return services.available_transitions(actor=self.context["request"].user, request=request)

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_decision(self, request: ExemptionRequest) -> dict | None:
        decision = getattr(request, "decision", None)  # the reverse one-to-one raises when there is none
        return DecisionSerializer(decision).data if decision else None

    @extend_schema_field(AuditEventSerializer(many=True))
    def get_timeline(self, request: ExemptionRequest) -> list[dict]:
        return AuditEventSerializer(self.context["timeline"], many=True).data


class RequestFilterSerializer(serializers.Serializer):
    """The list's query parameters."""

    state = choice(
        State.choices, what="state of a request", required=False, help_text="Only requests in this state."
    )
    overdue = serializers.BooleanField(
        required=False,
        default=False,
        error_messages={"invalid": "Write overdue=true or overdue=false."},
        help_text="Only requests in review and past the review clock's due date (the authority's worklist).",
    )


class TransitionErrorSerializer(serializers.Serializer):
    """Why a step was refused: its state changed (409), or a rule stops it (400)."""

    detail = serializers.CharField()
    missing = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="When the request is incomplete: what each field still needs.",
    )


# --- write: a draft --------------------------------------------------------------------------


class RefusesUnknownFields(serializers.Serializer):
    """A misspelt or unwritable field is answered, not silently dropped: nothing typed is lost unseen."""

    unknown_field_message = "This is not a field you can write here."

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            unknown = {name: [self.unknown_field_message] for name in data if name not in self.fields}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, Mapping):
                raise serializers.ValidationError({**error.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


def _restrict(field: serializers.RelatedField, queryset: QuerySet, message: str) -> None:
    field.queryset = queryset
    field.error_messages["does_not_exist"] = message


def _own_hospital(serializer: serializers.Serializer) -> tuple[Organisation | None, User | None]:
    """The hospital and the caller from the context; without them (as when the schema is drawn)
    nothing may be referred to."""
    hospital, request = serializer.context.get("hospital"), serializer.context.get("request")
    return (hospital, request.user) if hospital and request else (None, None)


class ExemptionRequestUpdateSerializer(RefusesUnknownFields, serializers.ModelSerializer):
    """The fields a pharmacist writes while the request is a draft or returned. Needs the request's
    `hospital` and the caller (`request`) in its context."""

    unknown_field_message = "Not a field you can change: the patient and the product are fixed once the request exists, and the rest is the authority's."

    class Meta:
        model = ExemptionRequest
        fields = list(services.EDITABLE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hospital, user = _own_hospital(self)
        clinicians, permits = User.objects.none(), ExemptionRequest.objects.none()
        if hospital:
            clinicians = User.objects.filter(
                memberships__organisation=hospital,
                memberships__role=Role.CLINICIAN,
                memberships__ended_at__isnull=True,
            )
            permits = requests_visible_to(user=user).filter(hospital=hospital, state__in=APPROVED_STATES)
        _restrict(
            self.fields["responsible_physician"],
            clinicians,
            "Choose a clinician of your hospital: there is none with this id.",
        )
        _restrict(
            self.fields["modifies"],
            permits,
            "Choose an approved request of your hospital: there is none with this id.",
        )


class ExemptionRequestCreateSerializer(ExemptionRequestUpdateSerializer):
    """A new draft: a patient and a product of the caller's hospital, and any of the editable fields."""

    unknown_field_message = "This is not a field of an exemption request you can write."

    class Meta(ExemptionRequestUpdateSerializer.Meta):
        fields = ["patient", "product", *services.EDITABLE_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hospital, user = _own_hospital(self)
        patients, products = Patient.objects.none(), Product.objects.none()
        if hospital:
            living = Patient.objects.filter(hospital=hospital, date_of_death__isnull=True)
            patients = visible_to(user=user, queryset=living)
            products = products_visible_to(user=user).filter(hospital=hospital, is_active=True)
        _restrict(
            self.fields["patient"],
            patients,
            "Choose a living patient of your hospital: there is none with this id.",
        )
        _restrict(
            self.fields["product"],
            products,
            "Choose an active product of your hospital's catalogue: there is none with this id.",
        )


# --- write: the steps of SPEC §4 -------------------------------------------------------------


class SignatureBodySerializer(serializers.Serializer):
    """Co-signing and submitting: the signer's password, entered again, and their second factor's code."""

    password = signature()
    code = signature_code()


class ValidationBodySerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ReturnBodySerializer(serializers.Serializer):
    reasons = text("Say what is missing, so the hospital can complete the request.")


class InformationQuestionsBodySerializer(serializers.Serializer):
    questions = text("Write the questions for the hospital.")


class InformationAnswerBodySerializer(serializers.Serializer):
    answer = text("Write the hospital's answer.")


class AssessmentBodySerializer(serializers.Serializer):
    kind = choice(AssessmentKind.choices, what="kind of assessment")
    report = text("Write the assessment report.")
    recommendation = choice(Recommendation.choices, what="recommendation")


class DecisionBodySerializer(serializers.Serializer):
    password = signature()
    code = signature_code()
    outcome = choice(Outcome.choices, what="decision")
    reasons = text("Give the reasons for the decision.")
    conditions = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required for an approval with conditions."
    )
    follow_up_years = serializers.IntegerField(
        min_value=1,
        max_value=30,
        required=False,
        allow_null=True,
        default=None,
        help_text="Leave out for the default: 15 years after integrating vectors or genome editing, 5 otherwise.",
    )
    follow_up_template = serializers.ChoiceField(
        choices=FollowUpTemplate.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Leave out for the template the product's class and vector call for (SPEC §3).",
    )
    reporting_duties = serializers.CharField(required=False, allow_blank=True, default="")


class WithdrawalBodySerializer(serializers.Serializer):
    reason = text("Say why the request is withdrawn.")


class SuspensionBodySerializer(serializers.Serializer):
    reason = text("Give the reason for the suspension.")


class RevocationBodySerializer(serializers.Serializer):
    reason = text("Give the reason for the revocation.")
