"""The JSON shapes of adverse events (SPEC §2, §7 `adverse-events/`): an event as it is read, the
list's query parameters, and the body that records one.

The patient appears by pseudonym only, never by identity. What the body refers to (a plan, a visit)
is limited to the caller's hospital, so an id of anything else answers "no such …" and reveals
nothing. CRS and ICANS are not graded by the caller: the body answers the ASTCT criteria and the
grade is computed from them. The body checks only what a field can say by itself (and which fields
go with which kind); every rule that needs the plan (its administration date, the grade against the
outcome, seriousness) is the services'."""

from rest_framework import serializers

from atmp_clinic.exemptions.serializers import RefusesUnknownFields, choice, text
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.followup.selectors import plans_visible_to, visits_visible_to

from .grading import (
    CONSCIOUSNESS,
    MOTOR_FINDINGS,
    OXYGEN_SUPPORT,
    RAISED_ICP,
    SEIZURES,
    VASOPRESSORS,
    CrsCriteria,
    IcansCriteria,
)
from .models import AdverseEvent, ExpeditedReport, Relatedness, Seriousness, SpecialInterest

# --- read ------------------------------------------------------------------------------------


class ExpeditedReportRefSerializer(serializers.ModelSerializer):
    """The expedited report a serious adverse reaction owes the authority, as far as the event shows it."""

    overdue = serializers.BooleanField(
        source="is_overdue",
        read_only=True,
        help_text="Past its due date and not submitted, or submitted after it.",
    )

    class Meta:
        model = ExpeditedReport
        fields = ["id", "due_on", "status", "overdue"]
        read_only_fields = fields


class AdverseEventSerializer(serializers.ModelSerializer):
    """An adverse event, in the list and in the detail alike. Give it events with their patient and
    whoever recorded them selected, and their expedited report prefetched from those the caller may
    see: a page then costs the same queries at any size."""

    url = serializers.HyperlinkedIdentityField(view_name="api:adverse-event-detail")
    plan = serializers.PrimaryKeyRelatedField(read_only=True)
    patient = serializers.CharField(
        source="patient.pseudonym", read_only=True, help_text="The patient's pseudonymous code."
    )
    visit = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The visit it was reported at, if any (its id)."
    )
    grading_criteria = serializers.DictField(
        read_only=True,
        help_text="For CRS and ICANS, the ASTCT criteria as answered; empty for other events.",
    )
    grading_reasons = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="For CRS and ICANS, how the grade was computed from the criteria; empty for other events.",
    )
    seriousness = serializers.ListField(
        child=serializers.ChoiceField(choices=Seriousness.choices),
        read_only=True,
        help_text="The seriousness criteria the event meets (ICH E2A).",
    )
    special_interest = serializers.ListField(
        child=serializers.ChoiceField(choices=SpecialInterest.choices),
        read_only=True,
        help_text="Why the event is of special interest, if it is.",
    )
    expedited_report = ExpeditedReportRefSerializer(
        read_only=True,
        allow_null=True,
        help_text="The report to the authority a serious adverse reaction opens; null for any other "
        "event, and for the authority until the hospital has submitted it.",
    )
    recorded_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="The username of whoever recorded the event."
    )

    class Meta:
        model = AdverseEvent
        fields = [
            "id",
            "url",
            "plan",
            "patient",
            "visit",
            "kind",
            "term",
            "onset_on",
            "resolved_on",
            "grade",
            "grading_criteria",
            "grading_reasons",
            "serious",
            "seriousness",
            "relatedness",
            "outcome",
            "special_interest",
            "expedited_report",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class AdverseEventFilterSerializer(serializers.Serializer):
    """The list's query parameters."""

    serious = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        error_messages={"invalid": "Write serious=true or serious=false."},
        help_text="Only serious events (true), or only non-serious ones (false).",
    )
    kind = choice(
        AdverseEvent.Kind.choices,
        what="kind of adverse event",
        required=False,
        help_text="Only events of this kind.",
    )
    grade_min = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=5,
        error_messages={
            "invalid": "Give grade_min as a whole number from 1 to 5.",
            "min_value": "Give grade_min as a whole number from 1 to 5.",
            "max_value": "Give grade_min as a whole number from 1 to 5.",
        },
        help_text="Only events of this grade or higher (1-5).",
    )


# --- write: recording an adverse event -------------------------------------------------------


def _choices(options: dict[str, str]) -> list[tuple[str, str]]:
    return list(options.items())


def _flag(help_text: str) -> serializers.BooleanField:
    return serializers.BooleanField(
        required=False,
        default=False,
        error_messages={"invalid": "Write true or false."},
        help_text=help_text,
    )


class CrsCriteriaSerializer(RefusesUnknownFields, serializers.Serializer):
    """The ASTCT criteria of cytokine release syndrome, as attributable to CRS and to no other cause."""

    fever = serializers.BooleanField(
        error_messages={
            "required": "Say whether the patient had a fever of 38.0 °C or more (true or false).",
            "null": "Say whether the patient had a fever of 38.0 °C or more (true or false).",
            "invalid": "Write true or false.",
        },
        help_text="Temperature of 38.0 °C or more, attributable to CRS.",
    )
    fever_masked_by_treatment = _flag(
        "Antipyretic or anti-cytokine treatment (tocilizumab, steroids) given for CRS: fever is then no "
        "longer required."
    )
    hypotension = _flag("Hypotension attributable to CRS.")
    vasopressors = choice(
        _choices(VASOPRESSORS),
        what="vasopressor answer",
        required=False,
        default="none",
        help_text="Vasopressors the hypotension needs.",
    )
    oxygen = choice(
        _choices(OXYGEN_SUPPORT),
        what="oxygen support",
        required=False,
        default="none",
        help_text="Oxygen the hypoxia needs.",
    )


class IcansCriteriaSerializer(RefusesUnknownFields, serializers.Serializer):
    """The ASTCT criteria of neurotoxicity (ICANS), adult scale, as attributable to ICANS and to no
    other cause."""

    ice_score = serializers.IntegerField(
        min_value=0,
        max_value=10,
        allow_null=True,
        error_messages={
            "required": "Give the ICE score (0 to 10), or null when the patient is unarousable.",
            "invalid": "Give the ICE score as a whole number from 0 to 10.",
            "min_value": "Give the ICE score as a whole number from 0 to 10.",
            "max_value": "Give the ICE score as a whole number from 0 to 10.",
        },
        help_text="Immune effector cell-associated encephalopathy score, 0-10; null only when the patient "
        "is unarousable and cannot perform it.",
    )
    consciousness = choice(
        _choices(CONSCIOUSNESS), what="level of consciousness", required=False, default="alert"
    )
    seizure = choice(_choices(SEIZURES), what="seizure finding", required=False, default="none")
    motor = choice(_choices(MOTOR_FINDINGS), what="motor finding", required=False, default="none")
    raised_icp = choice(
        _choices(RAISED_ICP),
        what="finding of raised intracranial pressure",
        required=False,
        default="none",
        help_text="Raised intracranial pressure or cerebral oedema.",
    )


# Which criteria go with which kind: the grade of CRS and ICANS is computed from them.
CRITERIA_OF_KIND = {AdverseEvent.Kind.CRS: "crs", AdverseEvent.Kind.ICANS: "icans"}


class AdverseEventBodySerializer(RefusesUnknownFields, serializers.Serializer):
    """An adverse event of a patient of the caller's hospital. A general event has its CTCAE `grade`;
    CRS answers the `crs` criteria and ICANS the `icans` criteria, and their grade is computed (grade 5
    when the outcome is fatal). Needs the caller (`request`) and their `hospital` in its context."""

    plan = serializers.PrimaryKeyRelatedField(
        queryset=FollowUpPlan.objects.none(), help_text="The patient's follow-up plan (its id)."
    )
    visit = serializers.PrimaryKeyRelatedField(
        queryset=FollowUpVisit.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        help_text="The visit of that plan the event was reported at, if any (its id).",
    )
    kind = choice(AdverseEvent.Kind.choices, what="kind of adverse event", required=False, default="general")
    term = text("Name the event, e.g. with its MedDRA preferred term.", max_length=200)
    onset_on = serializers.DateField(
        error_messages={
            "required": "Give the date of onset.",
            "null": "Give the date of onset.",
            "invalid": "Write the date of onset as YYYY-MM-DD.",
        }
    )
    resolved_on = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        error_messages={"invalid": "Write the date the event resolved as YYYY-MM-DD."},
        help_text="The date the event resolved, if it has.",
    )
    grade = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        error_messages={"invalid": "The CTCAE grade is a whole number from 1 to 5."},
        help_text="The CTCAE grade 1-5, for a general event only: the grade of CRS and ICANS is computed.",
    )
    crs = CrsCriteriaSerializer(
        required=False, allow_null=True, default=None, help_text="For kind `crs` only: the ASTCT criteria."
    )
    icans = IcansCriteriaSerializer(
        required=False, allow_null=True, default=None, help_text="For kind `icans` only: the ASTCT criteria."
    )
    serious = serializers.BooleanField(
        required=False, default=False, error_messages={"invalid": "Write true or false."}
    )
    seriousness = serializers.ListField(
        child=choice(Seriousness.choices, what="seriousness criterion"),
        required=False,
        default=list,
        help_text="The seriousness criteria the event meets; needed for a serious event.",
    )
    relatedness = choice(Relatedness.choices, what="relatedness")
    outcome = choice(AdverseEvent.Outcome.choices, what="outcome")
    special_interest = serializers.ListField(
        child=choice(SpecialInterest.choices, what="category of special interest"),
        required=False,
        default=list,
        help_text="Why the event is of special interest (SPEC §2), if it is.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hospital, caller = self.context.get("hospital"), self.context.get("request")
        plans, visits = FollowUpPlan.objects.none(), FollowUpVisit.objects.none()
        if hospital and caller:  # without them (as when the schema is drawn) nothing may be referred to
            plans = plans_visible_to(user=caller.user).filter(patient__hospital=hospital)
            visits = visits_visible_to(user=caller.user).filter(plan__patient__hospital=hospital)
        plan_missing = "Choose the follow-up plan of the patient (its id)."
        self.fields["plan"].queryset = plans
        self.fields["plan"].error_messages.update(
            does_not_exist="Choose a follow-up plan of your hospital's patients: there is none with this id.",
            incorrect_type="Give the id of a follow-up plan, a whole number.",
            required=plan_missing,
            null=plan_missing,
        )
        self.fields["visit"].queryset = visits
        self.fields["visit"].error_messages.update(
            does_not_exist="Choose a visit of your hospital's patients: there is none with this id.",
            incorrect_type="Give the id of a visit, a whole number.",
        )

    def _criteria(self, value: dict | None, criteria_class: type) -> CrsCriteria | IcansCriteria | None:
        if value is None:
            return None
        try:
            return criteria_class(**value)
        except ValueError as error:  # criteria that contradict one another
            raise serializers.ValidationError(str(error)) from None

    def validate_crs(self, value: dict | None) -> CrsCriteria | None:
        return self._criteria(value, CrsCriteria)

    def validate_icans(self, value: dict | None) -> IcansCriteria | None:
        return self._criteria(value, IcansCriteria)

    def validate(self, attrs: dict) -> dict:
        # Which fields go with the kind; what the values mean for one another is the service's.
        kind, errors = attrs["kind"], {}
        wanted = CRITERIA_OF_KIND.get(kind)
        for name in CRITERIA_OF_KIND.values():
            if name != wanted and attrs.get(name) is not None:
                errors[name] = f"The {name.upper()} criteria go with an event of kind {name} only."
        if wanted:
            if attrs.get("grade") is not None:
                errors["grade"] = (
                    f"The grade of {wanted.upper()} is computed from the ASTCT criteria: leave it out and "
                    f"answer `{wanted}`."
                )
            if attrs.get(wanted) is None:
                errors[wanted] = "Answer the ASTCT criteria: the grade is computed from them."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
