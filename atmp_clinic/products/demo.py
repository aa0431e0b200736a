"""Demo catalogue: a product or two per demo hospital with a pharmacist, each with its release
specification, classified through the assistant. Idempotent like the rest of seed_demo."""

from decimal import Decimal

from django.db import transaction

from atmp_clinic.accounts.models import User

from . import services
from .models import AtmpClass, Origin, Product, ReleaseTestKind, VectorKind

CELLS_MANIPULATED = {"contains_cells_or_tissues": True, "substantially_manipulated": True}

STERILITY = (ReleaseTestKind.STERILITY, "Sterility (Ph. Eur. 2.6.27)", None, None, "", "No growth")
ENDOTOXIN = (ReleaseTestKind.ENDOTOXIN, "Bacterial endotoxins (LAL)", None, Decimal("0.5"), "EU/mL", "")
MYCOPLASMA = (ReleaseTestKind.MYCOPLASMA, "Mycoplasma (NAT)", None, None, "", "Not detected")
VIABILITY = (ReleaseTestKind.VIABILITY, "Viability (7-AAD flow cytometry)", Decimal(70), None, "%", "")

DEMO_PRODUCTS = {
    "pharmacist": [
        dict(
            name="CD19 CAR-T cells",
            atmp_class=AtmpClass.GENE_THERAPY,
            origin=Origin.AUTOLOGOUS,
            vector_kind=VectorKind.LENTIVIRAL,
            mechanism_of_action=(
                "The patient's T cells, transduced with a lentiviral vector encoding an anti-CD19 "
                "chimeric antigen receptor, recognise and kill CD19-positive B cells."
            ),
            answers={
                "recombinant_nucleic_acid": True,
                "effect_from_sequence": True,
                "non_homologous_use": True,
            }
            | CELLS_MANIPULATED,
            tests=[
                (ReleaseTestKind.IDENTITY, "CAR expression (flow cytometry)", Decimal(15), None, "%", ""),
                VIABILITY,
                (
                    ReleaseTestKind.POTENCY,
                    "IFN-γ release against CD19+ cells",
                    Decimal(500),
                    None,
                    "pg/mL",
                    "",
                ),
                STERILITY,
                ENDOTOXIN,
                MYCOPLASMA,
                (
                    ReleaseTestKind.VECTOR_COPY_NUMBER,
                    "Vector copy number (ddPCR)",
                    None,
                    Decimal(5),
                    "copies/cell",
                    "",
                ),
            ],
        ),
        dict(
            name="Cultured autologous keratinocyte sheet",
            atmp_class=AtmpClass.TISSUE_ENGINEERED,
            origin=Origin.AUTOLOGOUS,
            mechanism_of_action="Keratinocytes expanded from a skin biopsy form a sheet that replaces burnt epidermis.",
            answers={"regenerates_tissue": True} | CELLS_MANIPULATED,
            tests=[
                (ReleaseTestKind.IDENTITY, "Cytokeratin 14 positive cells", Decimal(80), None, "%", ""),
                VIABILITY,
                (ReleaseTestKind.POTENCY, "Colony-forming efficiency", Decimal(5), None, "%", ""),
                STERILITY,
                ENDOTOXIN,
                MYCOPLASMA,
            ],
        ),
    ],
    "pharmacist_2": [
        dict(
            name="Allogeneic mesenchymal stromal cells",
            atmp_class=AtmpClass.SOMATIC_CELL_THERAPY,
            origin=Origin.ALLOGENEIC,
            mechanism_of_action="Expanded bone-marrow stromal cells dampen the immune attack of graft-versus-host disease.",
            answers={"non_homologous_use": True} | CELLS_MANIPULATED,
            tests=[VIABILITY, STERILITY, ENDOTOXIN, MYCOPLASMA],
        ),
    ],
    "pharmacist_b": [
        dict(
            name="Dendritische Zellvakzine (Tumorlysat)",
            atmp_class=AtmpClass.SOMATIC_CELL_THERAPY,
            origin=Origin.AUTOLOGOUS,
            mechanism_of_action="Monocyte-derived dendritic cells pulsed with tumour lysate present tumour antigens to T cells.",
            answers=CELLS_MANIPULATED,
            tests=[
                (ReleaseTestKind.IDENTITY, "CD83/CD86 positive cells", Decimal(60), None, "%", ""),
                VIABILITY,
                (ReleaseTestKind.POTENCY, "Allogeneic T-cell stimulation index", Decimal(3), None, "", ""),
                STERILITY,
                ENDOTOXIN,
                MYCOPLASMA,
            ],
        ),
        dict(
            name="Chondrozyten auf Kollagenmatrix",
            atmp_class=AtmpClass.COMBINED,
            origin=Origin.AUTOLOGOUS,
            mechanism_of_action="Cultured chondrocytes seeded on a collagen membrane repair a cartilage defect of the knee.",
            answers={"regenerates_tissue": True, "integral_medical_device": True} | CELLS_MANIPULATED,
            tests=[VIABILITY, STERILITY, ENDOTOXIN],
        ),
    ],
}


DEMO_PRODUCTS["pharmacist_2_b"] = [
    dict(
        name="AAV2-RPE65 subretinal gene therapy",
        atmp_class=AtmpClass.GENE_THERAPY,
        origin=Origin.NOT_CELL_BASED,
        vector_kind=VectorKind.AAV,
        mechanism_of_action="An AAV2 vector delivers a working RPE65 gene to retinal pigment epithelium cells.",
        answers={"recombinant_nucleic_acid": True, "effect_from_sequence": True},
        tests=[
            (ReleaseTestKind.IDENTITY, "Vector genome identity (qPCR)", None, None, "", "Conforms"),
            (ReleaseTestKind.POTENCY, "RPE65 expression in vitro", Decimal(70), None, "% of reference", ""),
            STERILITY,
            ENDOTOXIN,
        ],
    ),
]


@transaction.atomic
def seed_products() -> int:
    """Returns how many products it created (0 on a second run)."""
    created = 0
    for username, products in DEMO_PRODUCTS.items():
        pharmacist = User.objects.get(username=username)
        hospital = pharmacist.memberships.get(ended_at__isnull=True).organisation
        for spec in products:
            if Product.objects.filter(hospital=hospital, name=spec["name"]).exists():
                continue
            fields = {k: v for k, v in spec.items() if k not in ("answers", "tests")}
            product = services.product_create(
                actor=pharmacist, hospital=hospital, classification_answers=spec["answers"], **fields
            )
            for kind, name, lower, upper, unit, expected in spec["tests"]:
                services.release_test_add(
                    actor=pharmacist,
                    product=product,
                    kind=kind,
                    name=name,
                    lower_limit=lower,
                    upper_limit=upper,
                    unit=unit,
                    expected_result=expected,
                )
            created += 1
    return created
