"""The JSON shapes of patients (SPEC §7 `patients/`). Identity fields appear only for those who may
see them; which patients those are is decided by the viewset and passed as `identity_visible`."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from atmp_clinic.accounts.models import Organisation

from .models import Consent, Patient, PatientIdentity, Sex

IDENTITY_FIELDS = ["given_name", "family_name", "email", "phone", "preferred_language", "time_zone"]


class HospitalSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name"]


class ConsentInForceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Consent
        fields = ["kind", "given_on"]


class PatientSerializer(serializers.ModelSerializer):
    """A patient as the caller may see them; read only."""

    hospital = HospitalSerializer(read_only=True)
    consents = ConsentInForceSerializer(source="active_consents", many=True, read_only=True)
    # Not read_only: drf-spectacular lists read-only fields as always present, and these are left
    # out for whoever may not see the identity. Nothing is ever written through this serializer.
    given_name = serializers.CharField(source="identity.given_name", required=False)
    family_name = serializers.CharField(source="identity.family_name", required=False)
    email = serializers.EmailField(source="identity.email", required=False, allow_null=True)
    phone = serializers.CharField(source="identity.phone", required=False, allow_null=True)
    preferred_language = serializers.CharField(source="identity.preferred_language", required=False)
    time_zone = serializers.CharField(source="identity.time_zone", required=False)

    class Meta:
        model = Patient
        fields = [
            "id",
            "pseudonym",
            "hospital",
            "year_of_birth",
            "sex",
            "date_of_death",
            "consents",
            *IDENTITY_FIELDS,
        ]
        read_only_fields = ["pseudonym", "year_of_birth", "sex", "date_of_death"]

    def to_representation(self, patient: Patient) -> dict:
        data = super().to_representation(patient)
        if patient.pk not in self.context.get("identity_visible", ()):
            for name in IDENTITY_FIELDS:
                del data[name]
        return data


class PatientEnrolmentSerializer(serializers.ModelSerializer):
    """What enrolling a patient takes. Language and time zone default to the hospital's country's."""

    year_of_birth = serializers.IntegerField(min_value=1900)
    sex = serializers.ChoiceField(choices=Sex.choices)

    class Meta:
        model = PatientIdentity
        fields = ["year_of_birth", "sex", *IDENTITY_FIELDS]

    def validate_year_of_birth(self, value: int) -> int:
        # The rule lives in Patient.clean(), which the service runs only after every field has passed;
        # running it here too lets one answer name every mistake at once.
        try:
            Patient(year_of_birth=value).clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return value
