"""Grading of cytokine release syndrome (CRS) and neurotoxicity (ICANS), and the EQ-5D-5L health state.

CRS and ICANS follow the ASTCT consensus: Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus
grading for cytokine release syndrome and neurologic toxicity associated with immune effector cells.
Biol Blood Marrow Transplant 2019;25(4):625-638, doi:10.1016/j.bbmt.2018.12.758. The form asks the
criteria, these functions compute the grade and say how it was reached. As the consensus says:

- every finding must be attributable to CRS or ICANS and to no other cause (for example no sedating
  medication behind a depressed level of consciousness); intracranial haemorrhage is not an ICANS
  feature, and organ toxicities, tremor and myoclonus are graded with CTCAE v5.0 without changing
  the CRS or ICANS grade;
- grade 5 is death due to CRS or ICANS with no other principal cause: the clinician records it on
  the adverse event, it does not follow from these criteria;
- ICANS is graded here on the adult scale, with the ICE score; the consensus grades children aged
  12 or less with the Cornell Assessment of Pediatric Delirium (CAPD) instead, not supported here.

EQ-5D-5L (Herdman M, Gudex C, Lloyd A, et al. Development and preliminary testing of the new
five-level version of EQ-5D (EQ-5D-5L). Qual Life Res 2011;20(10):1727-1736) is stored as its
five-digit health state and the EQ VAS. No index value is computed: an index needs a country value
set, and none has been chosen and cited for this registry.

Choice labels are lower-case phrases so that they read inside the reasons; forms and pages capitalise
them for display. They are translated lazily, and the reasons at call time, so both follow the active
language: the translations keep the labels as phrases that read inside the reasons (lower-case where
the language allows; German capitalises its nouns anyway). What is stored or exported is computed in
English (registry.services.RECORD_LANGUAGE).
"""

from dataclasses import dataclass

from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Grading:
    grade: int  # 0: no CRS or no ICANS
    reasons: list[str]


# --- Cytokine release syndrome ---------------------------------------------------------------------

# "none" of a treatment and of a finding read differently in some languages ("aucun", "néant").
_NO_TREATMENT = pgettext_lazy("ASTCT treatment", "none")
_NO_FINDING = pgettext_lazy("ASTCT finding", "none")

VASOPRESSORS = {
    "none": _NO_TREATMENT,
    "one": _("one vasopressor, with or without vasopressin"),
    "multiple": _("multiple vasopressors, excluding vasopressin"),
}
_HYPOTENSION_GRADE = {"none": 2, "one": 3, "multiple": 4}

OXYGEN_SUPPORT = {
    "none": _NO_TREATMENT,
    "low_flow_nasal_cannula": _("low-flow nasal cannula (≤ 6 L/min)"),
    "blow_by": _("blow-by oxygen"),
    "high_flow_nasal_cannula": _("high-flow nasal cannula (> 6 L/min)"),
    "facemask": _("facemask"),
    "non_rebreather": _("non-rebreather mask"),
    "venturi": _("Venturi mask"),
    "positive_pressure": _("positive pressure (CPAP, BiPAP, intubation and mechanical ventilation)"),
}
_HYPOXIA_GRADE = {
    "none": 0,
    "low_flow_nasal_cannula": 2,
    "blow_by": 2,
    "high_flow_nasal_cannula": 3,
    "facemask": 3,
    "non_rebreather": 3,
    "venturi": 3,
    "positive_pressure": 4,
}


@dataclass(frozen=True)
class CrsCriteria:
    fever: bool  # temperature ≥ 38.0 °C attributable to CRS
    # Antipyretic or anti-cytokine treatment (tocilizumab, steroids) given for CRS: fever is no longer
    # required, and hypotension and hypoxia drive the grade.
    fever_masked_by_treatment: bool = False
    hypotension: bool = False
    vasopressors: str = "none"
    oxygen: str = "none"

    def __post_init__(self) -> None:
        _check_bool("fever", self.fever)
        _check_bool("fever_masked_by_treatment", self.fever_masked_by_treatment)
        _check_bool("hypotension", self.hypotension)
        _check_choice("vasopressors", self.vasopressors, VASOPRESSORS)
        _check_choice("oxygen", self.oxygen, OXYGEN_SUPPORT)
        if self.vasopressors != "none" and not self.hypotension:
            raise ValueError(
                "Vasopressors are recorded without hypotension: record the hypotension, or no vasopressors."
            )


def grade_crs(criteria: CrsCriteria) -> Grading:
    """Grade CRS on the ASTCT consensus; the reasons show how the grade was reached."""
    if not (criteria.fever or criteria.fever_masked_by_treatment):
        reasons = [
            gettext(
                "No fever ≥ 38.0 °C and no fever masked by antipyretic or anti-cytokine treatment: "
                "no CRS, grade 0."
            )
        ]
        if criteria.hypotension or criteria.oxygen != "none":
            reasons.append(gettext("Hypotension or hypoxia without fever is not graded as CRS: grade 0."))
        return Grading(grade=0, reasons=reasons)

    if criteria.fever:
        reasons = [gettext("Fever ≥ 38.0 °C attributable to CRS: grade 1 at least.")]
    else:
        reasons = [
            gettext(
                "Fever masked by antipyretic or anti-cytokine treatment, so fever is no longer required "
                "and hypotension and hypoxia drive the grade: grade 1 at least."
            )
        ]

    hypotension_grade = _HYPOTENSION_GRADE[criteria.vasopressors] if criteria.hypotension else 0
    if criteria.hypotension and criteria.vasopressors == "none":
        reasons.append(
            gettext("Hypotension not needing vasopressors: grade %(grade)s.") % {"grade": hypotension_grade}
        )
    elif criteria.hypotension:
        reasons.append(
            gettext("Hypotension needing %(vasopressors)s: grade %(grade)s.")
            % {"vasopressors": VASOPRESSORS[criteria.vasopressors], "grade": hypotension_grade}
        )

    hypoxia_grade = _HYPOXIA_GRADE[criteria.oxygen]
    if hypoxia_grade:
        reasons.append(
            gettext("Hypoxia needing %(oxygen)s: grade %(grade)s.")
            % {"oxygen": OXYGEN_SUPPORT[criteria.oxygen], "grade": hypoxia_grade}
        )

    grade = max(1, hypotension_grade, hypoxia_grade)
    if hypotension_grade and hypoxia_grade:
        reason = gettext("Grade is that of the more severe of hypotension and hypoxia: grade %(grade)s.")
    elif hypotension_grade:
        reason = gettext("Grade is that of the hypotension: grade %(grade)s.")
    elif hypoxia_grade:
        reason = gettext("Grade is that of the hypoxia: grade %(grade)s.")
    else:
        reason = gettext("No hypotension and no hypoxia: grade %(grade)s.")
    reasons.append(reason % {"grade": grade})
    return Grading(grade=grade, reasons=reasons)


# --- Immune effector cell-associated neurotoxicity syndrome ----------------------------------------

ICE_SCORE_MAX = 10  # orientation 4, naming 3, following commands 1, writing 1, attention 1

# The consensus table has no column for a normal level of consciousness: "alert" stands for it, so
# that a patient who is not drowsy scores grade 0 in this domain rather than 1.
CONSCIOUSNESS = {
    "alert": _("alert, consciousness not depressed"),
    "awakens_spontaneously": _("awakens spontaneously"),
    "awakens_to_voice": _("awakens to voice"),
    "awakens_to_tactile_stimulus": _("awakens only to tactile stimulus"),
    "unarousable_or_needs_vigorous_stimuli": _(
        "unarousable, or needs vigorous or repetitive tactile stimuli to arouse (stupor or coma)"
    ),
}
_CONSCIOUSNESS_GRADE = {
    "alert": 0,
    "awakens_spontaneously": 1,
    "awakens_to_voice": 2,
    "awakens_to_tactile_stimulus": 3,
    "unarousable_or_needs_vigorous_stimuli": 4,
}

SEIZURES = {
    "none": _NO_FINDING,
    "focal_or_generalised_resolving": _(
        "clinical seizure, focal or generalised, that resolves rapidly, or non-convulsive seizures "
        "on EEG that resolve with intervention"
    ),
    "prolonged_or_repetitive": _(
        "life-threatening prolonged seizure (> 5 min), or repetitive clinical or electrical seizures "
        "without return to baseline in between"
    ),
}
_SEIZURE_GRADE = {"none": 0, "focal_or_generalised_resolving": 3, "prolonged_or_repetitive": 4}

MOTOR_FINDINGS = {
    "none": _NO_FINDING,
    "deep_focal_weakness": _("deep focal motor weakness such as hemiparesis or paraparesis"),
}
_MOTOR_GRADE = {"none": 0, "deep_focal_weakness": 4}

RAISED_ICP = {
    "none": _NO_FINDING,
    "focal_oedema": _("focal or local oedema on neuroimaging"),
    "diffuse_oedema_or_posturing": _(
        "diffuse cerebral oedema on neuroimaging, decerebrate or decorticate posturing, cranial "
        "nerve VI palsy, papilloedema or Cushing's triad"
    ),
}
_RAISED_ICP_GRADE = {"none": 0, "focal_oedema": 3, "diffuse_oedema_or_posturing": 4}

_UNAROUSABLE = "unarousable_or_needs_vigorous_stimuli"


@dataclass(frozen=True)
class IcansCriteria:
    ice_score: int | None  # None: the patient is unarousable and unable to perform ICE
    consciousness: str = "alert"
    seizure: str = "none"
    motor: str = "none"
    raised_icp: str = "none"

    def __post_init__(self) -> None:
        if self.ice_score is not None and (
            not _is_int(self.ice_score) or not 0 <= self.ice_score <= ICE_SCORE_MAX
        ):
            raise ValueError(f"The ICE score must be a whole number from 0 to 10; got {self.ice_score!r}.")
        _check_choice("consciousness", self.consciousness, CONSCIOUSNESS)
        _check_choice("seizure", self.seizure, SEIZURES)
        _check_choice("motor", self.motor, MOTOR_FINDINGS)
        _check_choice("raised_icp", self.raised_icp, RAISED_ICP)
        unarousable = self.consciousness == _UNAROUSABLE
        if self.ice_score is None and not unarousable:
            raise ValueError(
                "The ICE score may be left out only when the patient is unarousable; "
                "an awake patient who cannot answer scores 0."
            )
        if unarousable and self.ice_score not in (None, 0):
            raise ValueError(
                "An unarousable patient cannot score ICE points: record 0 or leave the ICE score out."
            )


def grade_icans(criteria: IcansCriteria) -> Grading:
    """Grade ICANS on the ASTCT consensus: the most severe domain sets the grade."""
    ice_grade, ice_finding = _ice_domain(criteria)
    domains = [
        (gettext("ICE score"), ice_finding, ice_grade),
        (
            gettext("Level of consciousness"),
            CONSCIOUSNESS[criteria.consciousness],
            _CONSCIOUSNESS_GRADE[criteria.consciousness],
        ),
        (gettext("Seizures"), SEIZURES[criteria.seizure], _SEIZURE_GRADE[criteria.seizure]),
        (gettext("Motor findings"), MOTOR_FINDINGS[criteria.motor], _MOTOR_GRADE[criteria.motor]),
        (
            gettext("Raised intracranial pressure or cerebral oedema"),
            RAISED_ICP[criteria.raised_icp],
            _RAISED_ICP_GRADE[criteria.raised_icp],
        ),
    ]
    reasons = [
        gettext("%(domain)s — %(finding)s: grade %(grade)s.")
        % {"domain": domain, "finding": finding, "grade": grade}
        for domain, finding, grade in domains
    ]
    grade = max(domain_grade for _domain, _finding, domain_grade in domains)
    if grade:
        reasons.append(
            gettext("ICANS grade is that of the most severe domain: grade %(grade)s.") % {"grade": grade}
        )
    else:
        reasons.append(gettext("No domain reaches grade 1: no ICANS, grade 0."))
    return Grading(grade=grade, reasons=reasons)


def _ice_domain(criteria: IcansCriteria) -> tuple[int, str]:
    score = criteria.ice_score
    if score is None:
        return 4, gettext("not performed, the patient is unarousable")
    # An ICE score of 0 is grade 3 in an awake patient (for example global aphasia), grade 4 when
    # the patient is unarousable.
    if score == 0 and criteria.consciousness == _UNAROUSABLE:
        return 4, gettext("0/10 because the patient is unarousable")
    if score == ICE_SCORE_MAX:
        return 0, "10/10"
    within = gettext("%(score)s/10, within %(lowest)s–%(highest)s")
    if score >= 7:
        return 1, within % {"score": score, "lowest": 7, "highest": 9}
    if score >= 3:
        return 2, within % {"score": score, "lowest": 3, "highest": 6}
    return 3, within % {"score": score, "lowest": 0, "highest": 2}


# --- EQ-5D-5L ---------------------------------------------------------------------------------------

EQ5D5L_DIMENSIONS = ("mobility", "self_care", "usual_activities", "pain_discomfort", "anxiety_depression")


def eq5d5l_profile(levels: dict[str, int], vas: int) -> str:
    """Validate the five levels and the EQ VAS; return the health state, e.g. "11223"."""
    unknown = sorted(set(levels) - set(EQ5D5L_DIMENSIONS))
    if unknown:
        raise ValueError(f"Unknown EQ-5D-5L dimension: {', '.join(unknown)}.")
    for dimension in EQ5D5L_DIMENSIONS:
        if dimension not in levels:
            raise ValueError(f"The EQ-5D-5L {dimension} level is missing.")
        level = levels[dimension]
        if not _is_int(level) or not 1 <= level <= 5:
            raise ValueError(f"The EQ-5D-5L {dimension} level must be 1 to 5; got {level!r}.")
    if not _is_int(vas) or not 0 <= vas <= 100:
        raise ValueError(f"The EQ VAS must be a whole number from 0 to 100; got {vas!r}.")
    return "".join(str(levels[dimension]) for dimension in EQ5D5L_DIMENSIONS)


# --- Input checks -----------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    # bool is a subclass of int, but True is not a score.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_bool(name: str, value: object) -> None:
    # A truthy string such as "False" from a careless caller would otherwise raise the grade silently.
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False; got {value!r}.")


def _check_choice(name: str, value: object, choices: dict[str, str]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}.")
