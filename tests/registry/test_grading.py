"""CRS and ICANS grades against the ASTCT consensus table (Lee et al. 2019), and EQ-5D-5L states."""

import re

import pytest
from django.utils import translation

from atmp_clinic.registry import grading
from atmp_clinic.registry.grading import (
    EQ5D5L_DIMENSIONS,
    CrsCriteria,
    Grading,
    IcansCriteria,
    eq5d5l_profile,
    grade_crs,
    grade_icans,
)

FEVER = {"fever": True}
MASKED = {"fever": False, "fever_masked_by_treatment": True}
HYPOTENSION = {"hypotension": True}

CRS_CASES = {
    "no fever: no CRS": ({"fever": False}, 0),
    "hypotension and hypoxia without fever: no CRS": (
        {"fever": False, "hypotension": True, "vasopressors": "one", "oxygen": "facemask"},
        0,
    ),
    "fever only: grade 1": (FEVER, 1),
    "fever, hypotension without vasopressors: grade 2": (FEVER | HYPOTENSION, 2),
    "fever, low-flow nasal cannula: grade 2": (FEVER | {"oxygen": "low_flow_nasal_cannula"}, 2),
    "fever, blow-by oxygen: grade 2": (FEVER | {"oxygen": "blow_by"}, 2),
    "fever, one vasopressor: grade 3": (FEVER | HYPOTENSION | {"vasopressors": "one"}, 3),
    "fever, high-flow nasal cannula: grade 3": (FEVER | {"oxygen": "high_flow_nasal_cannula"}, 3),
    "fever, facemask: grade 3": (FEVER | {"oxygen": "facemask"}, 3),
    "fever, non-rebreather: grade 3": (FEVER | {"oxygen": "non_rebreather"}, 3),
    "fever, Venturi mask: grade 3": (FEVER | {"oxygen": "venturi"}, 3),
    "fever, multiple vasopressors: grade 4": (FEVER | HYPOTENSION | {"vasopressors": "multiple"}, 4),
    "fever, positive pressure: grade 4": (FEVER | {"oxygen": "positive_pressure"}, 4),
    # The consensus's own example: one vasopressor and low-flow cannula is grade 3.
    "one vasopressor and low-flow cannula: the more severe, grade 3": (
        FEVER | HYPOTENSION | {"vasopressors": "one", "oxygen": "low_flow_nasal_cannula"},
        3,
    ),
    "hypotension without vasopressors and positive pressure: the more severe, grade 4": (
        FEVER | HYPOTENSION | {"oxygen": "positive_pressure"},
        4,
    ),
    "multiple vasopressors and blow-by: the more severe, grade 4": (
        FEVER | HYPOTENSION | {"vasopressors": "multiple", "oxygen": "blow_by"},
        4,
    ),
    "masked fever, nothing else: grade 1": (MASKED, 1),
    "masked fever, one vasopressor: grade 3": (MASKED | HYPOTENSION | {"vasopressors": "one"}, 3),
    "masked fever, positive pressure: grade 4": (MASKED | {"oxygen": "positive_pressure"}, 4),
    "fever despite treatment, facemask: grade 3": (
        FEVER | {"fever_masked_by_treatment": True, "oxygen": "facemask"},
        3,
    ),
}


@pytest.mark.parametrize(("criteria", "expected"), CRS_CASES.values(), ids=CRS_CASES.keys())
def test_crs_grade_follows_the_consensus_table(criteria, expected):
    assert grade_crs(CrsCriteria(**criteria)).grade == expected


@pytest.mark.parametrize("criteria", [case for case, _ in CRS_CASES.values()], ids=CRS_CASES.keys())
def test_every_crs_reason_ends_with_a_grade(criteria):
    reasons = grade_crs(CrsCriteria(**criteria)).reasons
    assert reasons
    assert all(re.search(r"grade \d( at least)?\.$", reason) for reason in reasons)


def test_crs_reasons_name_each_criterion_and_its_grade():
    criteria = CrsCriteria(fever=True, hypotension=True, vasopressors="one", oxygen="low_flow_nasal_cannula")
    assert grade_crs(criteria) == Grading(
        grade=3,
        reasons=[
            "Fever ≥ 38.0 °C attributable to CRS: grade 1 at least.",
            "Hypotension needing one vasopressor, with or without vasopressin: grade 3.",
            "Hypoxia needing low-flow nasal cannula (≤ 6 L/min): grade 2.",
            "Grade is that of the more severe of hypotension and hypoxia: grade 3.",
        ],
    )


def test_crs_fever_only_says_no_hypotension_and_no_hypoxia():
    assert grade_crs(CrsCriteria(fever=True)).reasons[-1] == "No hypotension and no hypoxia: grade 1."


def test_crs_hypotension_alone_sets_the_grade():
    reasons = grade_crs(CrsCriteria(fever=True, hypotension=True)).reasons
    assert reasons[1:] == [
        "Hypotension not needing vasopressors: grade 2.",
        "Grade is that of the hypotension: grade 2.",
    ]


def test_crs_hypoxia_alone_sets_the_grade():
    reasons = grade_crs(CrsCriteria(fever=True, oxygen="positive_pressure")).reasons
    assert reasons[1:] == [
        "Hypoxia needing positive pressure (CPAP, BiPAP, intubation and mechanical ventilation): grade 4.",
        "Grade is that of the hypoxia: grade 4.",
    ]


def test_crs_without_fever_explains_why_there_is_no_crs():
    grading_ = grade_crs(CrsCriteria(fever=False, hypotension=True))
    assert grading_.reasons == [
        "No fever ≥ 38.0 °C and no fever masked by antipyretic or anti-cytokine treatment: no CRS, grade 0.",
        "Hypotension or hypoxia without fever is not graded as CRS: grade 0.",
    ]


def test_crs_masked_fever_says_hypotension_and_hypoxia_drive_the_grade():
    reason = grade_crs(CrsCriteria(fever=False, fever_masked_by_treatment=True)).reasons[0]
    assert reason.startswith("Fever masked by antipyretic or anti-cytokine treatment")
    assert "hypotension and hypoxia drive the grade" in reason


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"fever": True, "vasopressors": "one"}, "Vasopressors are recorded without hypotension"),
        ({"fever": True, "vasopressors": "multiple"}, "Vasopressors are recorded without hypotension"),
        ({"fever": True, "hypotension": True, "vasopressors": "two"}, "vasopressors must be one of"),
        ({"fever": True, "oxygen": "nasal"}, "oxygen must be one of"),
        ({"fever": True, "oxygen": None}, "oxygen must be one of"),
        ({"fever": "False"}, "fever must be True or False"),
        ({"fever": True, "hypotension": 1}, "hypotension must be True or False"),
        (
            {"fever": False, "fever_masked_by_treatment": "yes"},
            "fever_masked_by_treatment must be True or False",
        ),
    ],
)
def test_inconsistent_or_unknown_crs_input_is_refused(criteria, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        CrsCriteria(**criteria)


UNAROUSABLE = "unarousable_or_needs_vigorous_stimuli"

ICANS_CASES = {
    "ICE 10, nothing else: no ICANS": ({"ice_score": 10}, 0),
    "ICE 9: grade 1": ({"ice_score": 9}, 1),
    "ICE 7: grade 1": ({"ice_score": 7}, 1),
    "ICE 6: grade 2": ({"ice_score": 6}, 2),
    "ICE 3: grade 2": ({"ice_score": 3}, 2),
    "ICE 2: grade 3": ({"ice_score": 2}, 3),
    "ICE 0 while awake (global aphasia): grade 3": ({"ice_score": 0}, 3),
    "ICE 0 because unarousable: grade 4": ({"ice_score": 0, "consciousness": UNAROUSABLE}, 4),
    "ICE not possible, unarousable: grade 4": ({"ice_score": None, "consciousness": UNAROUSABLE}, 4),
    "awakens spontaneously: grade 1": ({"ice_score": 10, "consciousness": "awakens_spontaneously"}, 1),
    "awakens to voice: grade 2": ({"ice_score": 10, "consciousness": "awakens_to_voice"}, 2),
    "awakens to tactile stimulus: grade 3": (
        {"ice_score": 10, "consciousness": "awakens_to_tactile_stimulus"},
        3,
    ),
    "rapidly resolving seizure: grade 3": ({"ice_score": 10, "seizure": "focal_or_generalised_resolving"}, 3),
    "prolonged or repetitive seizures: grade 4": ({"ice_score": 10, "seizure": "prolonged_or_repetitive"}, 4),
    "deep focal motor weakness: grade 4": ({"ice_score": 10, "motor": "deep_focal_weakness"}, 4),
    "focal oedema: grade 3": ({"ice_score": 10, "raised_icp": "focal_oedema"}, 3),
    "diffuse oedema or posturing: grade 4": (
        {"ice_score": 10, "raised_icp": "diffuse_oedema_or_posturing"},
        4,
    ),
    # The consensus's own example: ICE 3 with a generalised seizure is grade 3.
    "ICE 3 with a generalised seizure: grade 3": (
        {"ice_score": 3, "seizure": "focal_or_generalised_resolving"},
        3,
    ),
    "ICE 8 with deep focal weakness: the worst domain, grade 4": (
        {"ice_score": 8, "motor": "deep_focal_weakness"},
        4,
    ),
    "ICE 1 awakening to voice: the worst domain, grade 3": (
        {"ice_score": 1, "consciousness": "awakens_to_voice"},
        3,
    ),
}


@pytest.mark.parametrize(("criteria", "expected"), ICANS_CASES.values(), ids=ICANS_CASES.keys())
def test_icans_grade_follows_the_consensus_table(criteria, expected):
    assert grade_icans(IcansCriteria(**criteria)).grade == expected


@pytest.mark.parametrize("criteria", [case for case, _ in ICANS_CASES.values()], ids=ICANS_CASES.keys())
def test_icans_explains_every_domain_and_the_result(criteria):
    reasons = grade_icans(IcansCriteria(**criteria)).reasons
    domains = ["ICE score", "Level of consciousness", "Seizures", "Motor findings", "Raised intracranial"]
    assert len(reasons) == len(domains) + 1
    assert all(reason.startswith(domain) for reason, domain in zip(reasons, domains, strict=False))
    assert all(re.search(r"grade \d\.$", reason) for reason in reasons)


def test_icans_reasons_name_each_domain_and_its_grade():
    criteria = IcansCriteria(ice_score=5, consciousness="awakens_to_voice", raised_icp="focal_oedema")
    assert grade_icans(criteria) == Grading(
        grade=3,
        reasons=[
            "ICE score — 5/10, within 3–6: grade 2.",
            "Level of consciousness — awakens to voice: grade 2.",
            "Seizures — none: grade 0.",
            "Motor findings — none: grade 0.",
            "Raised intracranial pressure or cerebral oedema — focal or local oedema on neuroimaging: grade 3.",
            "ICANS grade is that of the most severe domain: grade 3.",
        ],
    )


def test_icans_without_any_finding_says_there_is_no_icans():
    assert (
        grade_icans(IcansCriteria(ice_score=10)).reasons[-1]
        == "No domain reaches grade 1: no ICANS, grade 0."
    )


def test_icans_ice_zero_from_unarousable_patient_says_so():
    reason = grade_icans(IcansCriteria(ice_score=0, consciousness=UNAROUSABLE)).reasons[0]
    assert reason == "ICE score — 0/10 because the patient is unarousable: grade 4."


def test_icans_ice_not_performed_says_why():
    reason = grade_icans(IcansCriteria(ice_score=None, consciousness=UNAROUSABLE)).reasons[0]
    assert reason == "ICE score — not performed, the patient is unarousable: grade 4."


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"ice_score": 11}, "The ICE score must be a whole number from 0 to 10"),
        ({"ice_score": -1}, "The ICE score must be a whole number from 0 to 10"),
        ({"ice_score": 7.5}, "The ICE score must be a whole number from 0 to 10"),
        ({"ice_score": True}, "The ICE score must be a whole number from 0 to 10"),
        ({"ice_score": "8"}, "The ICE score must be a whole number from 0 to 10"),
        ({"ice_score": None}, "may be left out only when the patient is unarousable"),
        (
            {"ice_score": None, "consciousness": "awakens_to_tactile_stimulus"},
            "may be left out only when the patient is unarousable",
        ),
        ({"ice_score": 5, "consciousness": UNAROUSABLE}, "An unarousable patient cannot score ICE points"),
        ({"ice_score": 10, "consciousness": "drowsy"}, "consciousness must be one of"),
        ({"ice_score": 10, "seizure": "status"}, "seizure must be one of"),
        ({"ice_score": 10, "motor": "tremor"}, "motor must be one of"),
        ({"ice_score": 10, "raised_icp": "haemorrhage"}, "raised_icp must be one of"),
    ],
)
def test_invalid_icans_input_is_refused(criteria, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        IcansCriteria(**criteria)


@pytest.mark.parametrize(
    ("labels", "grades"),
    [
        (grading.VASOPRESSORS, grading._HYPOTENSION_GRADE),
        (grading.OXYGEN_SUPPORT, grading._HYPOXIA_GRADE),
        (grading.CONSCIOUSNESS, grading._CONSCIOUSNESS_GRADE),
        (grading.SEIZURES, grading._SEIZURE_GRADE),
        (grading.MOTOR_FINDINGS, grading._MOTOR_GRADE),
        (grading.RAISED_ICP, grading._RAISED_ICP_GRADE),
    ],
)
def test_every_choice_has_a_grade(labels, grades):
    assert labels.keys() == grades.keys()


LEVELS = dict(zip(EQ5D5L_DIMENSIONS, (1, 1, 2, 2, 3), strict=True))


def test_eq5d5l_profile_is_the_five_levels_in_dimension_order():
    assert eq5d5l_profile(LEVELS, vas=70) == "11223"


def test_eq5d5l_profile_does_not_depend_on_the_order_of_the_answers():
    assert eq5d5l_profile(dict(reversed(LEVELS.items())), vas=70) == "11223"


@pytest.mark.parametrize("vas", [0, 100])
def test_eq5d5l_accepts_the_ends_of_the_vas(vas):
    assert eq5d5l_profile(dict.fromkeys(EQ5D5L_DIMENSIONS, 5), vas=vas) == "55555"


@pytest.mark.parametrize(
    ("levels", "vas", "message"),
    [
        (
            {k: v for k, v in LEVELS.items() if k != "self_care"},
            70,
            "The EQ-5D-5L self_care level is missing",
        ),
        (LEVELS | {"pain_discomfort": 0}, 70, "The EQ-5D-5L pain_discomfort level must be 1 to 5; got 0"),
        (LEVELS | {"mobility": 6}, 70, "The EQ-5D-5L mobility level must be 1 to 5; got 6"),
        (LEVELS | {"anxiety_depression": "2"}, 70, "The EQ-5D-5L anxiety_depression level must be 1 to 5"),
        (LEVELS | {"usual_activities": True}, 70, "The EQ-5D-5L usual_activities level must be 1 to 5"),
        (LEVELS | {"sleep": 1}, 70, "Unknown EQ-5D-5L dimension: sleep"),
        (LEVELS, -1, "The EQ VAS must be a whole number from 0 to 100; got -1"),
        (LEVELS, 101, "The EQ VAS must be a whole number from 0 to 100; got 101"),
        (LEVELS, 50.5, "The EQ VAS must be a whole number from 0 to 100"),
    ],
)
def test_invalid_eq5d5l_answers_are_refused_naming_the_problem(levels, vas, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        eq5d5l_profile(levels, vas)


def test_the_reasons_follow_the_active_language_and_the_choice_labels_read_inside_them():
    with translation.override("de"):
        reasons = grade_crs(CrsCriteria(fever=True, oxygen="facemask")).reasons
    assert reasons == [
        "Fieber ≥ 38,0 °C, auf CRS zurückzuführen: mindestens Grad 1.",
        "Hypoxie mit Bedarf an Sauerstoff (Gesichtsmaske): Grad 3.",
        "Der Grad ergibt sich aus der Hypoxie: Grad 3.",
    ]


def test_an_icans_domain_reads_in_spanish():
    with translation.override("es"):
        reason = grade_icans(IcansCriteria(ice_score=8)).reasons[0]
    assert reason == "Puntuación ICE — 8/10, en el intervalo 7–9: grado 1."
