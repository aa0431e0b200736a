"""The JSON shapes of the chain of identity (SPEC §7 `batches/`): the list item, the detail, the
body of each step of a batch (release testing, release, administration) and the body that records
a collection and its batch.

The patient appears by pseudonym only, never by identity. What a body refers to (a test, a result,
a request) is limited to the batch or the caller's hospital, so an id of anything else answers
"no such …" and reveals nothing."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from atmp_clinic.audit.models import Signature
from atmp_clinic.exemptions.models import APPROVED_STATES, ExemptionRequest
from atmp_clinic.exemptions.selectors import requests_visible_to
from atmp_clinic.exemptions.serializers import (
    AuditEventSerializer,
    PatientRefSerializer,
    ProductRefSerializer,
    RefusesUnknownFields,
    RequestRefSerializer,
    person_name,
    signature,
    signature_code,
    text,
)
from atmp_clinic.products.models import ReleaseTest

from .models import Administration, Batch, Collection, ReleaseResult
from .selectors import batch_steps

# --- read ------------------------------------------------------------------------------------


class BatchStatusSerializer(serializers.Serializer):
    value = serializers.ChoiceField(choices=Batch.Status.choices, source="status", read_only=True)
    label = serializers.CharField(source="get_status_display", read_only=True)


class BatchSerializer(serializers.ModelSerializer):
    """A batch as lists show it. Give it batches annotated with `has_out_of_specification` and with
    their request, patient, product, collection and releaser selected: a page then costs the same
    queries at any size."""

    status = BatchStatusSerializer(source="*", read_only=True)
    request = RequestRefSerializer(read_only=True)
    patient = PatientRefSerializer(source="request.patient", read_only=True)
    product = ProductRefSerializer(source="request.product", read_only=True)
    donation_identifier = serializers.CharField(source="collection.donation_identifier", read_only=True)
    released_by = serializers.SerializerMethodField()
    out_of_specification = serializers.BooleanField(
        source="has_out_of_specification",
        read_only=True,
        help_text="Whether any result recorded so far is out of specification.",
    )

    class Meta:
        model = Batch
        fields = [
            "id",
            "batch_number",
            "status",
            "request",
            "patient",
            "product",
            "donation_identifier",
            "product_code",
            "manufactured_on",
            "expires_on",
            "released_at",
            "released_by",
            "out_of_specification",
        ]
        read_only_fields = fields

    def get_released_by(self, batch: Batch) -> str | None:
        return person_name(batch.released_by)


class CollectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Collection
        fields = ["donation_identifier", "check_character", "material", "collected_at", "collection_site"]
        read_only_fields = fields


class ReleaseTestRefSerializer(serializers.ModelSerializer):
    """A test of the product's release specification, with the specification in words."""

    specification = serializers.CharField(read_only=True)

    class Meta:
        model = ReleaseTest
        fields = ["id", "name", "kind", "specification", "unit"]
        read_only_fields = fields


class ReleaseResultSerializer(serializers.ModelSerializer):
    test = ReleaseTestRefSerializer(read_only=True)
    shown = serializers.CharField(
        read_only=True, help_text="The result as written: value and unit, or observation."
    )
    recorded_by = serializers.SerializerMethodField()

    class Meta:
        model = ReleaseResult
        fields = ["id", "test", "value", "observation", "shown", "passed", "recorded_at", "recorded_by"]
        read_only_fields = fields

    def get_recorded_by(self, result: ReleaseResult) -> str:
        return person_name(result.recorded_by)


class SignatureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Signature
        fields = ["printed_name", "meaning", "signed_at", "content_hash"]
        read_only_fields = fields


class AdministrationSerializer(serializers.ModelSerializer):
    administered_by = serializers.SerializerMethodField()

    class Meta:
        model = Administration
        fields = ["administered_at", "dose", "administered_by", "recorded_at", "authority_notified"]
        read_only_fields = fields

    def get_administered_by(self, administration: Administration) -> str:
        return person_name(administration.administered_by)


class BatchDetailSerializer(BatchSerializer):
    """Everything about a batch along the chain of identity: its collection, the release results
    against the product's specification and the tests still missing, the signatures given on it,
    its administration and its audit trail (`timeline`, oldest first).

    The batch's results and its product's release tests come prefetched; the signatures, the
    missing tests and the timeline come from the context, read with their selectors."""

    collection = CollectionSerializer(read_only=True)
    results = ReleaseResultSerializer(many=True, read_only=True)
    missing_tests = serializers.SerializerMethodField()
    signatures = serializers.SerializerMethodField()
    administration = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    available_steps = serializers.SerializerMethodField()

    class Meta(BatchSerializer.Meta):
        fields = [
            *BatchSerializer.Meta.fields,
            "available_steps",
            "collection",
            "results",
            "missing_tests",
            "exceptional_release_justification",
            "signatures",
            "administration",
            "created_at",
            "timeline",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_steps(self, batch: Batch) -> list[str]:
        """The steps the caller may take on the batch now (POST steps/{name}/)."""
        return batch_steps(user=self.context["request"].user, batch=batch)

    @extend_schema_field(ReleaseTestRefSerializer(many=True))
    def get_missing_tests(self, batch: Batch) -> list[dict]:
        """The tests of the specification without a result yet: release waits for them."""
        return ReleaseTestRefSerializer(self.context["missing_tests"], many=True).data

    @extend_schema_field(SignatureSerializer(many=True))
    def get_signatures(self, batch: Batch) -> list[dict]:
        return SignatureSerializer(self.context["signatures"], many=True).data

    @extend_schema_field(AdministrationSerializer(allow_null=True))
    def get_administration(self, batch: Batch) -> dict | None:
        administration = getattr(batch, "administration", None)  # the reverse one-to-one raises without
        return AdministrationSerializer(administration).data if administration else None

    @extend_schema_field(AuditEventSerializer(many=True))
    def get_timeline(self, batch: Batch) -> list[dict]:
        return AuditEventSerializer(self.context["timeline"], many=True).data


class BatchFilterSerializer(serializers.Serializer):
    """The list's query parameters."""

    status = serializers.ChoiceField(
        choices=Batch.Status.choices,
        required=False,
        help_text="Only batches in this status.",
        error_messages={
            "invalid_choice": f'"{{input}}" is not a status of a batch: use one of {", ".join(Batch.Status.values)}.'
        },
    )
    request = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Only the batches made under this exemption request (its id).",
        error_messages={"invalid": "Give the id of an exemption request, a whole number."},
    )


class StepErrorSerializer(serializers.Serializer):
    """Why a step was refused: a rule of the chain of identity stops it (`detail`: out of
    specification, a code read at the bedside that is not this batch's, a batch no longer in
    testing…), or the body is invalid (messages by field instead, so `detail` is then absent)."""

    detail = serializers.CharField(required=False)


# --- write: the steps of a batch ------------------------------------------------------------


def _batch(serializer: serializers.Serializer) -> Batch | None:
    """The batch from the context; without it (as when the schema is drawn) nothing may be referred to."""
    return serializer.context.get("batch")


def _restrict(field: serializers.RelatedField, queryset, message: str, *, required: str) -> None:
    field.queryset = queryset
    field.error_messages.update(
        does_not_exist=message, incorrect_type=message, required=required, null=required
    )


def value_field() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=14,
        decimal_places=4,
        required=False,
        allow_null=True,
        default=None,
        help_text="The measured value, in the test's unit, for a test with limits.",
    )


def observation_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="What was observed, for a test with an expected result (e.g. “No growth”).",
    )


class ResultBodySerializer(RefusesUnknownFields, serializers.Serializer):
    """A result for one test of the product's specification. Needs the `batch` in its context."""

    test = serializers.PrimaryKeyRelatedField(queryset=ReleaseTest.objects.none())
    value = value_field()
    observation = observation_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        batch = _batch(self)
        tests = batch.request.product.release_tests.all() if batch else ReleaseTest.objects.none()
        _restrict(
            self.fields["test"],
            tests,
            "Choose a test of the specification of this batch's product: there is none with this id.",
            required="Choose the test of the specification this result is for (its id).",
        )


class CorrectionBodySerializer(RefusesUnknownFields, serializers.Serializer):
    """A correction of a result of this batch, with the reason; the audit trail keeps what it said
    before. Needs the `batch` in its context."""

    result = serializers.PrimaryKeyRelatedField(queryset=ReleaseResult.objects.none())
    value = value_field()
    observation = observation_field()
    reason = text("Say why the result is corrected.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        batch = _batch(self)
        results = batch.results.select_related("test") if batch else ReleaseResult.objects.none()
        _restrict(
            self.fields["result"],
            results,
            "Choose a result of this batch: there is none with this id.",
            required="Choose the result to correct (its id).",
        )


class JustificationBodySerializer(RefusesUnknownFields, serializers.Serializer):
    """The responsible physician's justification of an exceptional release, signed."""

    justification = text("Explain why the patient should still receive this batch.")
    password = signature()
    code = signature_code()


class ReleaseBodySerializer(RefusesUnknownFields, serializers.Serializer):
    """The qualified person's release, signed."""

    password = signature()
    code = signature_code()


class CollectionCorrectionBodySerializer(RefusesUnknownFields, serializers.Serializer):
    """A correction of the batch's collection record, with the reason; give only what changes. The
    donation identifier never changes."""

    material = serializers.CharField(max_length=100, required=False)
    collected_at = serializers.DateTimeField(required=False)
    collection_site = serializers.CharField(max_length=200, required=False)
    reason = text("Say why the record is corrected.")


class AdministrationCorrectionBodySerializer(RefusesUnknownFields, serializers.Serializer):
    """A correction of the batch's administration record (time, dose), with the reason."""

    administered_at = serializers.DateTimeField(required=False)
    dose = serializers.CharField(max_length=200, required=False)
    reason = text("Say why the record is corrected.")


class AdministrationBodySerializer(RefusesUnknownFields, serializers.Serializer):
    """At the bedside: when, how much, and the codes read from the patient and from the bag."""

    administered_at = serializers.DateTimeField(
        error_messages={"required": "Give the date and time of the administration."}
    )
    dose = text("Write the dose given.", max_length=200)
    patient_code = text(
        "Read the patient's pseudonymous code from the wristband.",
        help_text="The patient's pseudonymous code as read from the wristband; it must be this batch's patient.",
    )
    batch_code = text(
        "Read the batch number from the label.",
        help_text="The batch number as read from the bag's label; it must be this batch's.",
    )


# --- write: a collection and its batch -------------------------------------------------------


class BatchCreateSerializer(RefusesUnknownFields, serializers.Serializer):
    """The starting material collected for an approved request of the caller's hospital, and the batch
    made from it. Needs the caller (`request`) in its context."""

    request = serializers.PrimaryKeyRelatedField(
        queryset=ExemptionRequest.objects.none(), help_text="The approved exemption request (its id)."
    )
    donation_identifier = text(
        "Give the donation identification sequence of the Single European Code.",
        help_text="Country (2), tissue establishment (6) and donation number (13), e.g. NL000123G123498654321.",
    )
    check_character = serializers.CharField(
        max_length=1,
        required=False,
        allow_blank=True,
        default="",
        help_text="The ISBT 128 check character printed after an ISBT donation number.",
    )
    material = text("Say what was collected, e.g. leukapheresis.", max_length=100)
    collected_at = serializers.DateTimeField(
        error_messages={"required": "Give the date and time of the collection."}
    )
    collection_site = text("Say where the material was collected.", max_length=200)
    batch_number = text("Give the batch number.", max_length=40)
    product_code = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="The product identification sequence of the Single European Code, if the batch has one; "
        "its expiry date must be `expires_on`.",
    )
    manufactured_on = serializers.DateField(error_messages={"required": "Give the date of manufacture."})
    expires_on = serializers.DateField(error_messages={"required": "Give the expiry date."})

    COLLECTION_FIELDS = [
        "donation_identifier",
        "check_character",
        "material",
        "collected_at",
        "collection_site",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        caller = self.context.get("request")
        requests = ExemptionRequest.objects.none()
        if caller and self.context.get("hospital"):
            requests = requests_visible_to(user=caller.user).filter(
                hospital=self.context["hospital"], state__in=APPROVED_STATES
            )
        _restrict(
            self.fields["request"],
            requests,
            "Choose an approved request of your hospital: there is none with this id.",
            required="Choose the approved exemption request the material was collected for (its id).",
        )

    def collection_fields(self) -> dict:
        return {name: self.validated_data[name] for name in self.COLLECTION_FIELDS}

    def batch_fields(self) -> dict:
        return {
            name: self.validated_data[name]
            for name in ("batch_number", "product_code", "manufactured_on", "expires_on")
        }
