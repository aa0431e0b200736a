"""The registry export for analysts (SPEC §6): consented, treated patients only, known by their
pseudonym alone, one CSV table each for visits, outcomes and adverse events.

What may leave the hospital is decided here and only here, column by column:
- never a field of PatientIdentity (name, contact data, language, time zone): it is not joined at all;
- never free text a clinician typed that may name or describe a person: visit notes and out-of-window
  reasons, an outcome's cause of death, an expedited report's narrative, who recorded what;
- a patient is exported while their registry consent is active; its withdrawal removes them, and all
  their rows, from every export made after it.

Rows are read with `values_list(...).iterator()`: one query per table, no model instances, memory
constant in the number of rows, so a streamed response can carry any number of them."""

import csv
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from django.db.models import Exists, OuterRef, QuerySet

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.accounts.selectors import active_membership
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.patients.models import Consent, ConsentKind, Patient

from .models import AdverseEvent, OutcomeRecord

CHUNK_SIZE = 2000

# Every table starts with who (by pseudonym), where (country only) and what was given when.
COMMON_HEADER = ["pseudonym", "hospital_country", "atmp_class", "administration_date"]


def _common(plan: str) -> list[str]:
    """The common columns' lookups from a model that reaches the plan through `plan`."""
    return [
        f"{plan}patient__pseudonym",
        f"{plan}patient__hospital__country",
        f"{plan}administration__request__product__atmp_class",
        f"{plan}starts_on",  # day 0 of the plan is the date of administration
    ]


VISIT_FIELDS = [
    "label", "due_on", "window_opens_on", "window_closes_on", "modality", "status", "performed_on",
]  # fmt: skip
# cause_of_death is left out: it is free text, where a clinician may write a name, a place or a story.
OUTCOME_FIELDS = [
    "vital_status", "date_of_death", "disease_response", "ecog",
    "replication_competent_vector", "vector_copy_number", "car_t_persistence", "b_cell_aplasia", "igg_g_per_l",
    "eq5d_mobility", "eq5d_self_care", "eq5d_usual_activities", "eq5d_pain_discomfort",
    "eq5d_anxiety_depression", "eq5d_vas",
]  # fmt: skip
ADVERSE_EVENT_FIELDS = [
    "kind", "term", "onset_on", "resolved_on", "grade", "serious", "seriousness", "relatedness", "outcome",
    "special_interest",
]  # fmt: skip

TABLES = ("visits", "outcomes", "adverse_events")


def may_export(user: User) -> bool:
    """Only registry analysts export; the role belongs to no organisation, it sees the whole registry."""
    membership = active_membership(user=user)
    return membership is not None and membership.role == Role.ANALYST


def registry_patients() -> QuerySet[Patient]:
    """Patients who were treated (they have a follow-up plan) and whose registry consent is active.
    A consent withdrawn and later given again counts from the new one."""
    consented = Consent.objects.filter(
        patient=OuterRef("pk"), kind=ConsentKind.REGISTRY, withdrawn_on__isnull=True
    )
    treated = FollowUpPlan.objects.filter(patient=OuterRef("pk"))
    return Patient.objects.filter(Exists(consented), Exists(treated))


def _cell(value: object) -> object:
    """One value as the CSV shows it: empty for unknown, lowercase booleans, lists joined by ';'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(item) for item in value)
    if isinstance(value, date | Decimal):
        return str(value)
    return value


def _visit_rows() -> Iterator[list]:
    yield [*COMMON_HEADER, *VISIT_FIELDS, "in_window"]
    rows = (
        FollowUpVisit.objects.filter(plan__patient__in=registry_patients().values("pk"))
        .order_by("plan__patient__pseudonym", "plan_id", "due_on", "pk")
        .values_list(*_common("plan__"), *VISIT_FIELDS)
    )
    opens_at = len(COMMON_HEADER) + VISIT_FIELDS.index("window_opens_on")
    performed_at = len(COMMON_HEADER) + VISIT_FIELDS.index("performed_on")
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        opens, closes, performed = row[opens_at], row[opens_at + 1], row[performed_at]
        # As FollowUpVisit.was_in_window: unknown until the visit took place.
        in_window = None if performed is None else opens <= performed <= closes
        yield [_cell(value) for value in (*row, in_window)]


def _outcome_rows() -> Iterator[list]:
    yield [*COMMON_HEADER, "visit_label", *OUTCOME_FIELDS]
    rows = (
        OutcomeRecord.objects.filter(patient__in=registry_patients().values("pk"))
        .order_by("visit__plan__patient__pseudonym", "visit__plan_id", "visit__due_on", "pk")
        .values_list(*_common("visit__plan__"), "visit__label", *OUTCOME_FIELDS)
    )
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        yield [_cell(value) for value in row]


def _adverse_event_rows() -> Iterator[list]:
    yield [*COMMON_HEADER, *ADVERSE_EVENT_FIELDS]
    rows = (
        AdverseEvent.objects.filter(patient__in=registry_patients().values("pk"))
        .order_by("plan__patient__pseudonym", "plan_id", "onset_on", "pk")
        .values_list(*_common("plan__"), *ADVERSE_EVENT_FIELDS)
    )
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        yield [_cell(value) for value in row]


_ROWS = {"visits": _visit_rows, "outcomes": _outcome_rows, "adverse_events": _adverse_event_rows}


def csv_rows(table: str) -> Iterator[list]:
    """The header, then one row per visit, outcome or adverse event of the registry's patients.
    Raises ValueError for a table that is not one of TABLES."""
    if table not in _ROWS:
        raise ValueError(f"Choose a table: {', '.join(TABLES)}.")
    return _ROWS[table]()


class _Line:
    """A file-like object that hands back what csv.writer writes, so each row is encoded on its own."""

    def write(self, value: str) -> str:
        return value


def csv_lines(table: str) -> Iterator[str]:
    """csv_rows as CSV text, one line at a time: for streaming responses and export files. Raises
    ValueError at once for an unknown table."""
    writer = csv.writer(_Line())
    return (writer.writerow(row) for row in csv_rows(table))


def row_count(table: str) -> int:
    """How many lines csv_lines(table) will give (the header included), for an export's progress."""
    model = {"visits": FollowUpVisit, "outcomes": OutcomeRecord, "adverse_events": AdverseEvent}[table]
    patient = "plan__patient__in" if model is FollowUpVisit else "patient__in"
    return 1 + model.objects.filter(**{patient: registry_patients().values("pk")}).count()
