"""The JSON shapes of follow-up visits (SPEC §7 `visits/`): a visit as it is read, the list's query
parameters, and the bodies of the three things a clinician does to a visit (record, miss,
reschedule).

The patient appears by pseudonym only, never by identity. The bodies check only what a field can
say by itself; every rule that needs the visit (its window, the administration, the plan's end) is
the services'."""

from rest_framework import serializers

from atmp_clinic.exemptions.serializers import RefusesUnknownFields, choice, text

from .models import FollowUpVisit

# --- read ------------------------------------------------------------------------------------


class VisitSerializer(serializers.ModelSerializer):
    """A visit, in the list and in the detail alike. Give it visits with their plan's patient and
    whoever recorded them selected: a page then costs the same queries at any size."""

    url = serializers.HyperlinkedIdentityField(view_name="api:visit-detail")
    plan = serializers.PrimaryKeyRelatedField(read_only=True)
    patient = serializers.CharField(
        source="plan.patient.pseudonym", read_only=True, help_text="The patient's pseudonymous code."
    )
    collects = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="What the visit records: outcome forms and tests.",
    )
    in_window = serializers.BooleanField(
        source="was_in_window",
        read_only=True,
        allow_null=True,
        help_text="Whether the visit took place inside its window; null until it took place.",
    )
    recorded_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The username of whoever recorded the visit as done or missed; null before.",
    )
    is_overdue = serializers.BooleanField(read_only=True, help_text="Past its due date and not done.")

    class Meta:
        model = FollowUpVisit
        fields = [
            "id",
            "url",
            "plan",
            "patient",
            "label",
            "due_on",
            "window_opens_on",
            "window_closes_on",
            "originally_due_on",
            "modality",
            "collects",
            "status",
            "performed_on",
            "in_window",
            "out_of_window_reason",
            "note",
            "recorded_by",
            "is_overdue",
        ]
        read_only_fields = fields


def _date_parameter(help_text: str) -> serializers.DateField:
    return serializers.DateField(
        required=False,
        help_text=help_text,
        error_messages={"invalid": "Write a date as YYYY-MM-DD, e.g. 2026-05-31."},
    )


class VisitFilterSerializer(serializers.Serializer):
    """The list's query parameters."""

    status = choice(
        FollowUpVisit.Status.choices,
        what="status of a visit",
        required=False,
        help_text="Only visits in this status.",
    )
    due_before = _date_parameter("Only visits due on or before this date (YYYY-MM-DD).")
    due_after = _date_parameter("Only visits due on or after this date (YYYY-MM-DD).")
    overdue = serializers.BooleanField(
        required=False,
        default=False,
        error_messages={"invalid": "Write overdue=true or overdue=false."},
        help_text="Only visits past their due date and not done (still scheduled).",
    )

    def validate(self, attrs: dict) -> dict:
        # An empty range is a mistake in the query, not an answer: say so rather than list nothing.
        after, before = attrs.get("due_after"), attrs.get("due_before")
        if after and before and after > before:
            raise serializers.ValidationError({"due_after": "due_after must be on or before due_before."})
        return attrs


# --- write: what a clinician does to a visit ------------------------------------------------


class VisitRecordBodySerializer(RefusesUnknownFields, serializers.Serializer):
    """The visit took place on `performed_on`; outside its window, `out_of_window_reason` says why."""

    performed_on = serializers.DateField(
        error_messages={
            "required": "Give the date the visit took place.",
            "null": "Give the date the visit took place.",
            "invalid": "Write the date the visit took place as YYYY-MM-DD.",
        }
    )
    out_of_window_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Why the visit took place outside its window; needed only then.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class VisitMissedBodySerializer(RefusesUnknownFields, serializers.Serializer):
    """The visit did not take place; `note` may say why."""

    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why the visit was missed, if known."
    )


class VisitRescheduleBodySerializer(RefusesUnknownFields, serializers.Serializer):
    """A new appointment date, with the reason. The protocol's window stays as it was."""

    due_on = serializers.DateField(
        error_messages={
            "required": "Give the new date of the visit.",
            "null": "Give the new date of the visit.",
            "invalid": "Write the new date of the visit as YYYY-MM-DD.",
        }
    )
    # The service's own words, so the answer is the same whichever layer refuses first.
    reason = text("Say why the visit is rescheduled.")
