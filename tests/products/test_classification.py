"""The assistant against the textbook cases of the ATMP definitions."""

import pytest

from atmp_clinic.products.classification import QUESTIONS, classify
from atmp_clinic.products.models import AtmpClass

CELLS = {"contains_cells_or_tissues": True}

TEXTBOOK_CASES = {
    "CAR-T cells": (
        {"recombinant_nucleic_acid": True, "effect_from_sequence": True, "substantially_manipulated": True}
        | CELLS,
        AtmpClass.GENE_THERAPY,
    ),
    "dendritic cells pulsed with tumour lysate": (
        {"substantially_manipulated": True} | CELLS,
        AtmpClass.SOMATIC_CELL_THERAPY,
    ),
    "cultured keratinocyte sheet": (
        {"substantially_manipulated": True, "regenerates_tissue": True} | CELLS,
        AtmpClass.TISSUE_ENGINEERED,
    ),
    "chondrocytes on a scaffold": (
        {"substantially_manipulated": True, "regenerates_tissue": True, "integral_medical_device": True}
        | CELLS,
        AtmpClass.COMBINED,
    ),
    "minimally manipulated bone marrow for homologous use": (CELLS, None),
    "marrow cells injected into the heart to repair muscle": (
        {"non_homologous_use": True, "regenerates_tissue": True} | CELLS,
        AtmpClass.TISSUE_ENGINEERED,
    ),
}


@pytest.mark.parametrize(("answers", "expected"), TEXTBOOK_CASES.values(), ids=TEXTBOOK_CASES.keys())
def test_textbook_case(answers, expected):
    assert classify(answers).atmp_class == expected


def test_non_homologous_use_alone_makes_cells_engineered():
    reasons = classify({"non_homologous_use": True, "regenerates_tissue": True} | CELLS).reasons
    assert any("non-homologous use" in reason for reason in reasons)


def test_minimally_manipulated_cells_are_explained():
    proposal = classify(CELLS)
    assert (proposal.label, any("minimally manipulated" in r for r in proposal.reasons)) == (
        "Not an ATMP",
        True,
    )


def test_gene_therapy_takes_precedence_over_cell_therapy_with_a_reason():
    reasons = classify(TEXTBOOK_CASES["CAR-T cells"][0]).reasons
    assert any("classed as gene therapy first" in reason for reason in reasons)


def test_vaccine_against_an_infectious_disease_is_not_gene_therapy():
    answers = {
        "recombinant_nucleic_acid": True,
        "effect_from_sequence": True,
        "vaccine_against_infection": True,
    }
    proposal = classify(answers)
    assert (proposal.atmp_class, any("Vaccines" in r for r in proposal.reasons)) == (None, True)


def test_recombinant_nucleic_acid_without_sequence_effect_is_not_gene_therapy():
    assert classify({"recombinant_nucleic_acid": True}).atmp_class is None


def test_in_vivo_aav_vector_is_gene_therapy():
    assert classify({"recombinant_nucleic_acid": True, "effect_from_sequence": True}).atmp_class == (
        AtmpClass.GENE_THERAPY
    )


def test_device_without_engineered_cells_is_not_a_combined_atmp():
    assert classify({"integral_medical_device": True} | CELLS).atmp_class is None


def test_every_proposal_gives_reasons():
    for answers, _ in TEXTBOOK_CASES.values():
        assert classify(answers).reasons


def test_unanswered_questions_count_as_no():
    assert classify({}).atmp_class is None and set(QUESTIONS) >= {"integral_medical_device"}
