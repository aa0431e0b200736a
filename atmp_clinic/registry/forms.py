"""Forms of the registry: a visit's outcome (only the sections its template asks for), an adverse
event with its ASTCT criteria, and the narrative of an expedited report. They parse what was typed;
the services decide what is allowed."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.manufacturing.forms import DATE_INPUT

from . import grading
from .grading import CrsCriteria, IcansCriteria
from .models import AdverseEvent, Finding, OutcomeRecord, Relatedness, Section, Seriousness, SpecialInterest
from .services import SECTION_FIELDS, visit_sections

NOT_RECORDED = ("", _("— not recorded —"))

# ECOG performance status (Oken MM et al., Am J Clin Oncol 1982;5:649-655), in short.
ECOG_CHOICES = [
    (0, _("0 — Fully active, able to carry on all pre-disease activity without restriction")),
    (1, _("1 — Restricted in strenuous activity, but walking and able to do light or sedentary work")),
    (2, _("2 — Walking and capable of all self-care, unable to work; up and about more than half the day")),
    (3, _("3 — Capable of only limited self-care; in bed or chair more than half the day")),
    (4, _("4 — Completely disabled; no self-care; totally confined to bed or chair")),
    (5, _("5 — Dead")),
]

# EQ-5D-5L, UK English wording of the EuroQol Research Foundation, which licenses its use (a registry
# must register its use with EuroQol). Levels 1-5 of each dimension, as the patient ticks them.
EQ5D5L_LEVELS = {
    "mobility": (
        "Mobility",
        [
            "I have no problems in walking about",
            "I have slight problems in walking about",
            "I have moderate problems in walking about",
            "I have severe problems in walking about",
            "I am unable to walk about",
        ],
    ),
    "self_care": (
        "Self-care",
        [
            "I have no problems washing or dressing myself",
            "I have slight problems washing or dressing myself",
            "I have moderate problems washing or dressing myself",
            "I have severe problems washing or dressing myself",
            "I am unable to wash or dress myself",
        ],
    ),
    "usual_activities": (
        "Usual activities (e.g. work, study, housework, family or leisure activities)",
        [
            "I have no problems doing my usual activities",
            "I have slight problems doing my usual activities",
            "I have moderate problems doing my usual activities",
            "I have severe problems doing my usual activities",
            "I am unable to do my usual activities",
        ],
    ),
    "pain_discomfort": (
        "Pain / discomfort",
        [
            "I have no pain or discomfort",
            "I have slight pain or discomfort",
            "I have moderate pain or discomfort",
            "I have severe pain or discomfort",
            "I have extreme pain or discomfort",
        ],
    ),
    "anxiety_depression": (
        "Anxiety / depression",
        [
            "I am not anxious or depressed",
            "I am slightly anxious or depressed",
            "I am moderately anxious or depressed",
            "I am severely anxious or depressed",
            "I am extremely anxious or depressed",
        ],
    ),
}
EQ_VAS_HELP = _(
    "How good or bad the patient's health is today: 100 is the best health they can imagine, "
    "0 the worst they can imagine."
)

CTCAE_GRADES = [
    (1, _("1 — Mild")),
    (2, _("2 — Moderate")),
    (3, _("3 — Severe or medically significant")),
    (4, _("4 — Life-threatening")),
    (5, _("5 — Death related to the event")),
]


def _choices(labels: dict[str, str]) -> list[tuple[str, str]]:
    """grading's lower-case labels, capitalised for a form (lazily: the form is built at import)."""
    return [(value, capfirst(label)) for value, label in labels.items()]


def _typed(choices, **kwargs) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        choices=[NOT_RECORDED, *choices], coerce=int, empty_value=None, required=False, **kwargs
    )


def _eq5d_field(dimension: str) -> forms.TypedChoiceField:
    label, levels = EQ5D5L_LEVELS[dimension]
    return forms.TypedChoiceField(
        label=f"EQ-5D-5L: {label}",
        choices=[(level, f"{level} — {text}") for level, text in enumerate(levels, start=1)],
        coerce=int, empty_value=None, required=False, widget=forms.RadioSelect,
    )  # fmt: skip


def _b_cell_aplasia() -> forms.NullBooleanField:
    widget = forms.NullBooleanSelect()
    widget.choices = [("unknown", _("Not tested")), ("true", _("Yes")), ("false", _("No"))]
    return forms.NullBooleanField(label=_("B-cell aplasia"), required=False, widget=widget)


# Each outcome field, as the form asks it; built anew for every form.
OUTCOME_FIELDS = {
    "vital_status": lambda: forms.ChoiceField(
        label=_("Vital status"), choices=[NOT_RECORDED, *OutcomeRecord.VitalStatus.choices], required=False
    ),
    "date_of_death": lambda: forms.DateField(label=_("Date of death"), required=False, widget=DATE_INPUT),
    "cause_of_death": lambda: forms.CharField(label=_("Cause of death"), max_length=200, required=False),
    "disease_response": lambda: forms.ChoiceField(
        label=_("Disease response"), choices=[NOT_RECORDED, *OutcomeRecord.Response.choices], required=False
    ),
    "ecog": lambda: _typed(ECOG_CHOICES, label=_("ECOG performance status")),
    "vector_copy_number": lambda: forms.DecimalField(
        label=_("Vector copy number (copies per cell)"),
        max_digits=8,
        decimal_places=3,
        min_value=0,
        required=False,
    ),
    "car_t_persistence": lambda: forms.ChoiceField(
        label=_("CAR-T persistence"), choices=[NOT_RECORDED, *Finding.choices], required=False
    ),
    "b_cell_aplasia": _b_cell_aplasia,
    "igg_g_per_l": lambda: forms.DecimalField(
        label=_("IgG (g/L)"), max_digits=5, decimal_places=2, min_value=0, required=False
    ),
    **{f"eq5d_{dimension}": (lambda d=dimension: _eq5d_field(d)) for dimension in EQ5D5L_LEVELS},
    "eq5d_vas": lambda: forms.IntegerField(
        label=_("EQ VAS (0-100)"), min_value=0, max_value=100, required=False, help_text=EQ_VAS_HELP
    ),
    "replication_competent_vector": lambda: forms.ChoiceField(
        label=_("Replication-competent vector"), choices=[NOT_RECORDED, *Finding.choices], required=False
    ),
}


class OutcomeForm(forms.Form):
    """What one visit found: only the fields of the sections its template collects."""

    def __init__(self, *args, visit: FollowUpVisit, **kwargs):
        super().__init__(*args, **kwargs)
        self.visit = visit
        self.section_names = visit_sections(visit)
        for section in self.section_names:
            for name in SECTION_FIELDS[section]:
                self.fields[name] = OUTCOME_FIELDS[name]()

    def sections(self) -> list[tuple[str, str, list]]:
        """(id, title, bound fields) per section, in the template's order, for fieldsets."""
        return [
            (section, Section(section).label, [self[name] for name in SECTION_FIELDS[section]])
            for section in self.section_names
        ]

    def outcome(self) -> dict:
        """The arguments of services.outcome_record, without the actor and the visit."""
        return dict(self.cleaned_data)


class AdverseEventForm(forms.Form):
    term = forms.CharField(
        label=_("Term"),
        max_length=200,
        help_text=_("The event's name, e.g. a MedDRA preferred term such as “Pyrexia”."),
    )
    kind = forms.ChoiceField(
        label=_("Kind of event"), choices=AdverseEvent.Kind.choices, initial=AdverseEvent.Kind.GENERAL,
        widget=forms.RadioSelect,
        help_text=_("CRS and ICANS are graded from the ASTCT criteria below; any other event by its CTCAE grade."),
    )  # fmt: skip
    onset_on = forms.DateField(label=_("Onset"), widget=DATE_INPUT)
    resolved_on = forms.DateField(label=_("Resolved on"), required=False, widget=DATE_INPUT)
    visit = forms.TypedChoiceField(
        label=_("Reported at visit"), coerce=int, empty_value=None, required=False, choices=[]
    )

    grade = _typed(CTCAE_GRADES, label=_("CTCAE grade (v5.0)"))

    crs_fever = forms.BooleanField(label=_("Fever ≥ 38.0 °C attributable to CRS"), required=False)
    crs_fever_masked_by_treatment = forms.BooleanField(
        label=_("Fever masked by antipyretic or anti-cytokine treatment (tocilizumab, steroids)"),
        required=False,
    )
    crs_hypotension = forms.BooleanField(label=_("Hypotension"), required=False)
    crs_vasopressors = forms.ChoiceField(
        label=_("Vasopressors"), choices=_choices(grading.VASOPRESSORS), initial="none", required=False
    )
    crs_oxygen = forms.ChoiceField(
        label=_("Oxygen for hypoxia"),
        choices=_choices(grading.OXYGEN_SUPPORT),
        initial="none",
        required=False,
    )

    icans_ice_score = forms.IntegerField(
        label=_("ICE score (0-10)"), min_value=0, max_value=grading.ICE_SCORE_MAX, required=False,
        help_text=_("Orientation 4, naming 3, following commands 1, writing 1, attention 1. "
                    "Leave it empty only when the patient is unarousable."),
    )  # fmt: skip
    icans_consciousness = forms.ChoiceField(
        label=_("Level of consciousness"),
        choices=_choices(grading.CONSCIOUSNESS),
        initial="alert",
        required=False,
    )
    icans_seizure = forms.ChoiceField(
        label=_("Seizures"), choices=_choices(grading.SEIZURES), initial="none", required=False
    )
    icans_motor = forms.ChoiceField(
        label=_("Motor findings"), choices=_choices(grading.MOTOR_FINDINGS), initial="none", required=False
    )
    icans_raised_icp = forms.ChoiceField(
        label=_("Raised intracranial pressure or cerebral oedema"),
        choices=_choices(grading.RAISED_ICP), initial="none", required=False,
    )  # fmt: skip

    serious = forms.BooleanField(label=_("Serious adverse event"), required=False)
    seriousness = forms.MultipleChoiceField(
        label=_("Seriousness criteria met"), choices=Seriousness.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    relatedness = forms.ChoiceField(
        label=_("Relatedness to the product"), choices=[NOT_RECORDED, *Relatedness.choices]
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[NOT_RECORDED, *AdverseEvent.Outcome.choices])
    special_interest = forms.MultipleChoiceField(
        label=_("Adverse event of special interest"), choices=SpecialInterest.choices, required=False,
        widget=forms.CheckboxSelectMultiple, help_text=_("Tick every one that applies; none if none does."),
    )  # fmt: skip

    FIELDSETS = [
        ("event", _("Event"), "", ("term", "kind", "onset_on", "resolved_on", "visit")),
        ("ctcae", _("Grade"), _("For an adverse event other than CRS and ICANS."), ("grade",)),
        (
            "crs",
            _("Cytokine release syndrome: ASTCT criteria"),
            _("For CRS only: the grade is computed from these."),
            (
                "crs_fever",
                "crs_fever_masked_by_treatment",
                "crs_hypotension",
                "crs_vasopressors",
                "crs_oxygen",
            ),
        ),
        (
            "icans",
            _("ICANS: ASTCT criteria"),
            _("For ICANS only, adult scale: the grade is computed from these."),
            ("icans_ice_score", "icans_consciousness", "icans_seizure", "icans_motor", "icans_raised_icp"),
        ),
        ("seriousness", _("Seriousness"), "", ("serious", "seriousness")),
        ("assessment", _("Causality and outcome"), "", ("relatedness", "outcome", "special_interest")),
    ]

    def __init__(self, *args, plan: FollowUpPlan, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.criteria: CrsCriteria | IcansCriteria | None = None
        # An event is reported at a visit that took place; most are reported between visits.
        done = plan.visits.filter(status=FollowUpVisit.Status.COMPLETED).order_by("due_on")
        self.visits = {visit.pk: visit for visit in done}
        self.fields["visit"].choices = [
            ("", _("— between visits —")),
            # The date as the page's language writes it: strftime gave "12 Dec 2026" on German pages too.
            *(
                (pk, f"{visit.display_label}, {date_format(visit.performed_on, 'SHORT_DATE_FORMAT')}")
                for pk, visit in self.visits.items()
            ),
        ]

    def fieldsets(self) -> list[tuple[str, str, str, list]]:
        return [
            (key, legend, hint, [self[name] for name in names]) for key, legend, hint, names in self.FIELDSETS
        ]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == AdverseEvent.Kind.GENERAL and data.get("grade") is None and "grade" not in self.errors:
            self.add_error("grade", _("Give the CTCAE grade, 1 to 5."))
        # The criteria refuse what cannot be true together (vasopressors without hypotension, an ICE
        # score for an unarousable patient): that refusal belongs next to the criteria.
        try:
            if kind == AdverseEvent.Kind.CRS:
                self.criteria = CrsCriteria(
                    fever=data.get("crs_fever", False),
                    fever_masked_by_treatment=data.get("crs_fever_masked_by_treatment", False),
                    hypotension=data.get("crs_hypotension", False),
                    vasopressors=data.get("crs_vasopressors") or "none",
                    oxygen=data.get("crs_oxygen") or "none",
                )
            elif kind == AdverseEvent.Kind.ICANS and "icans_ice_score" not in self.errors:
                self.criteria = IcansCriteria(
                    ice_score=data.get("icans_ice_score"),
                    consciousness=data.get("icans_consciousness") or "alert",
                    seizure=data.get("icans_seizure") or "none",
                    motor=data.get("icans_motor") or "none",
                    raised_icp=data.get("icans_raised_icp") or "none",
                )
        except ValueError as error:
            self.add_error(self.criteria_field(), str(error))
        return data

    def criteria_field(self) -> str | None:
        """Where an error about the grade goes: next to the criteria it was computed from."""
        kind = self.cleaned_data.get("kind") if hasattr(self, "cleaned_data") else None
        return {AdverseEvent.Kind.CRS: "crs_vasopressors", AdverseEvent.Kind.ICANS: "icans_ice_score"}.get(
            kind, "grade"
        )

    def add_service_error(self, error: ValidationError) -> None:
        """A service refusal on the form; its word on the grade of CRS or ICANS goes to their criteria."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                target = self.criteria_field() if field == "grade" else field
                self.add_error(target if target in self.fields else None, errors)
        else:
            self.add_error(None, error.messages)

    def adverse_event(self) -> dict:
        """The arguments of services.adverse_event_record, without the actor and the plan."""
        data = self.cleaned_data
        kind = data["kind"]
        return {
            "term": data["term"],
            "onset_on": data["onset_on"],
            "resolved_on": data.get("resolved_on"),
            "visit": self.visits.get(data.get("visit")),
            "kind": kind,
            "grade": data.get("grade") if kind == AdverseEvent.Kind.GENERAL else None,
            "crs": self.criteria if kind == AdverseEvent.Kind.CRS else None,
            "icans": self.criteria if kind == AdverseEvent.Kind.ICANS else None,
            "serious": data.get("serious", False),
            "seriousness": data.get("seriousness", []),
            "relatedness": data["relatedness"],
            "outcome": data["outcome"],
            "special_interest": data.get("special_interest", []),
        }


class ReportSubmitForm(forms.Form):
    narrative = forms.CharField(
        label=_("Narrative"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "The case for the authority: what happened and when, what was done, how the patient is now."
        ),
    )
