"""The classification assistant: the questions of the ATMP definitions, and the class they lead to.

Sources: Regulation (EC) No 1394/2007, Article 2 (tissue-engineered and combined ATMPs,
"engineered" cells or tissues, precedence rules), and Directive 2001/83/EC, Annex I, Part IV as
amended by Directive 2009/120/EC (gene therapy and somatic cell therapy definitions; manipulations
that are not substantial). The proposal is advice for the pharmacist, who accepts or overrides
it; the Committee for Advanced Therapies gives the binding classification.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext, gettext_noop

from .models import AtmpClass

# Marked for translation here, translated where shown: the reasons are kept in English on the product.
QUESTIONS = {
    "recombinant_nucleic_acid": gettext_noop(
        "Does the active substance contain or consist of a recombinant nucleic acid, used in or "
        "given to people to regulate, repair, replace, add or delete a genetic sequence?"
    ),
    "effect_from_sequence": gettext_noop(
        "Is its therapeutic, prophylactic or diagnostic effect directly linked to that nucleic acid "
        "sequence, or to the product of its expression?"
    ),
    "vaccine_against_infection": gettext_noop("Is it a vaccine against an infectious disease?"),
    "contains_cells_or_tissues": gettext_noop(
        "Does it contain or consist of human or animal cells or tissues?"
    ),
    "substantially_manipulated": gettext_noop(
        "Have the cells or tissues been substantially manipulated, so that their biological "
        "characteristics, physiological functions or structural properties changed (for example "
        "expanded in culture, genetically modified, differentiated or activated)? Cutting, "
        "grinding, centrifuging, filtering, freezing and similar steps are not substantial."
    ),
    "non_homologous_use": gettext_noop(
        "Are the cells or tissues meant to serve a different essential function in the patient "
        "than in the donor (non-homologous use)?"
    ),
    "regenerates_tissue": gettext_noop("Is it meant to regenerate, repair or replace a human tissue?"),
    "integral_medical_device": gettext_noop(
        "Does it incorporate, as an integral part, one or more medical devices or active "
        "implantable medical devices (for example a scaffold or matrix)?"
    ),
}


@dataclass(frozen=True)
class ClassificationProposal:
    atmp_class: AtmpClass | None  # None: not an ATMP
    reasons: list[str] = field(default_factory=list)

    @property
    def is_atmp(self) -> bool:
        return self.atmp_class is not None

    @property
    def label(self) -> str:
        return self.atmp_class.label if self.atmp_class else gettext("Not an ATMP")


def classify(answers: dict[str, bool]) -> ClassificationProposal:
    """Propose a class from yes/no answers to QUESTIONS; a missing answer counts as no."""
    yes = {name for name in QUESTIONS if answers.get(name)}
    reasons: list[str] = []

    gene_therapy = {"recombinant_nucleic_acid", "effect_from_sequence"} <= yes
    if gene_therapy and "vaccine_against_infection" in yes:
        reasons.append(gettext_noop("Vaccines against infectious diseases are excluded from gene therapy."))
        gene_therapy = False
    elif gene_therapy:
        reasons.append(
            gettext_noop(
                "Its active substance is a recombinant nucleic acid and its effect comes directly from "
                "that sequence: this is gene therapy."
            )
        )
    elif "recombinant_nucleic_acid" in yes:
        reasons.append(
            gettext_noop(
                "It contains a recombinant nucleic acid, but its effect is not directly linked to the "
                "sequence: that alone does not make it gene therapy."
            )
        )

    engineered = "contains_cells_or_tissues" in yes and bool(
        {"substantially_manipulated", "non_homologous_use"} & yes
    )
    if "contains_cells_or_tissues" in yes:
        if "substantially_manipulated" in yes:
            reasons.append(
                gettext_noop(
                    "The cells or tissues are substantially manipulated, so they count as engineered."
                )
            )
        if "non_homologous_use" in yes:
            reasons.append(
                gettext_noop(
                    "The cells or tissues serve a different essential function than in the donor "
                    "(non-homologous use), so they count as engineered."
                )
            )
        if not engineered:
            reasons.append(
                gettext_noop(
                    "The cells or tissues are only minimally manipulated and serve the same essential "
                    "function as in the donor: they are not engineered."
                )
            )

    if gene_therapy:
        atmp_class = AtmpClass.GENE_THERAPY
        if engineered:
            reasons.append(
                gettext_noop(
                    "A product that could also be a cell or tissue product is classed as gene therapy first."
                )
            )
    elif engineered and "regenerates_tissue" in yes:
        atmp_class = AtmpClass.TISSUE_ENGINEERED
        reasons.append(
            gettext_noop(
                "Its engineered cells or tissues are meant to regenerate, repair or replace a human tissue."
            )
        )
    elif engineered:
        atmp_class = AtmpClass.SOMATIC_CELL_THERAPY
        reasons.append(
            gettext_noop(
                "Its engineered cells or tissues are meant to treat, prevent or diagnose a disease "
                "through a pharmacological, immunological or metabolic action, not to regenerate tissue."
            )
        )
    else:
        if "contains_cells_or_tissues" not in yes:
            reasons.append(
                gettext_noop("It contains neither engineered cells or tissues nor a gene therapy substance.")
            )
        reasons.append(
            gettext_noop(
                "It is not an advanced therapy medicinal product: a hospital exemption does not apply "
                "(cells and tissues for transplant follow the tissues and cells rules)."
            )
        )
        return ClassificationProposal(None, reasons)

    if "integral_medical_device" in yes:
        reasons.append(
            gettext_noop(
                "It incorporates a medical device as an integral part of the product: a combined ATMP."
            )
        )
        atmp_class = AtmpClass.COMBINED
    return ClassificationProposal(atmp_class, reasons)
