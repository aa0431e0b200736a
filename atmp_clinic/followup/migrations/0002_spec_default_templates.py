"""SPEC §3's four default follow-up templates, as editable reference data."""

from django.db import migrations

CORE = ["vital_status", "disease_response", "ecog", "adverse_events", "laboratory"]
WITH_QUALITY_OF_LIFE = [*CORE, "eq5d5l"]


def window(offset, unit):
    days = {"days": offset, "months": offset * 30, "years": offset * 365}[unit]
    return 3 if days <= 28 else 14 if days <= 365 else 30


def visit(label, offset, unit, modality="in_person", vector_test=False):
    collects = list(CORE if unit == "days" else WITH_QUALITY_OF_LIFE)
    if vector_test:
        collects.append("replication_competent_vector")
    return {"label": label, "offset": offset, "offset_unit": unit, "window_days": window(offset, unit),
            "modality": modality, "collects": collects}  # fmt: skip


INTEGRATING = (
    [visit(f"Day {d}", d, "days") for d in (7, 14, 28)]
    + [visit(f"Month {m}", m, "months", vector_test=m in (3, 6, 12)) for m in (3, 6, 9, 12)]
    + [visit(f"Month {m}", m, "months", vector_test=m == 24) for m in (18, 24)]
    + [visit(f"Year {y}", y, "years", vector_test=True) for y in (3, 4, 5)]
    + [visit(f"Year {y}", y, "years", modality="phone", vector_test=True) for y in range(6, 16)]
)
FIVE_YEARS = [visit(f"Month {m}", m, "months") for m in (1, 3, 6, 12)] + [
    visit(f"Year {y}", y, "years") for y in (2, 3, 4, 5)
]
TEMPLATES = [
    ("integrating_vector", "Integrating vector or genome editing (incl. CAR-T)", 15, INTEGRATING),
    ("non_integrating_gene_therapy", "Non-integrating gene therapy (AAV)", 5, FIVE_YEARS),
    ("somatic_cell_therapy", "Somatic cell therapy", 5, FIVE_YEARS),
    ("tissue_engineered", "Tissue-engineered or combined", 5, FIVE_YEARS),
]


def create_templates(apps, schema_editor):
    Template = apps.get_model("followup", "FollowUpTemplateDefinition")
    Visit = apps.get_model("followup", "VisitDefinition")
    for code, name, years, visits in TEMPLATES:
        template, created = Template.objects.get_or_create(code=code, defaults={"name": name, "duration_years": years})
        if created:
            Visit.objects.bulk_create(Visit(template=template, **v) for v in visits)


class Migration(migrations.Migration):
    dependencies = [("followup", "0001_initial")]
    operations = [migrations.RunPython(create_templates, migrations.RunPython.noop)]
