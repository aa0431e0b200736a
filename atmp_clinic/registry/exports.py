"""The registry export for analysts (SPEC §6): consented, treated patients only, known by their
pseudonym alone, one CSV table each for visits, outcomes and adverse events.

What may leave the hospital is decided here and only here, column by column:
- never a field of PatientIdentity (name, contact data, language, time zone): it is not joined at all;
- never free text a clinician typed that may name or describe a person: visit notes and out-of-window
  reasons, an outcome's cause of death, an expedited report's narrative, who recorded what;
- a patient is exported while their registry consent is active; its withdrawal removes them, and all
  their rows, from every export made after it.

Each table is one ORM query whose columns are already the CSV's cells (text, 'true'/'false', lists
joined by ';', NULL for unknown), so the database does the formatting. On PostgreSQL that query runs
as `COPY (…) TO STDOUT WITH CSV` and its rows are passed on as they arrive: the registry's export at
2,000,000 rows is bound by the server's sort and COPY, not by Python (BENCHMARKS.md). Elsewhere
(SQLite, `make run`'s default) the same query is read with `values_list(...).iterator()`. Either
way memory stays constant in the number of rows, so a streamed response can carry any number."""

import csv
from collections.abc import Iterator

from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    Expression,
    F,
    Field,
    Func,
    JSONField,
    Model,
    OuterRef,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import NullIf

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


class _Joined(Func):
    """A JSON list's items joined by ';', NULL when it has none."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            "NULLIF(array_to_string(ARRAY(SELECT jsonb_array_elements_text(%(expressions)s)), ';'), '')"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = "(SELECT group_concat(value, ';') FROM json_each(%(expressions)s))"
        return self.as_sql(compiler, connection, template=template, **extra)


def _field(model: type[Model], lookup: str) -> Field:
    *path, name = lookup.split("__")
    for step in path:
        model = model._meta.get_field(step).related_model
    return model._meta.get_field(name)


def _cell(model: type[Model], lookup: str) -> Expression:
    """The column `lookup` as the CSV shows it: NULL (an empty cell) for unknown and for blank text,
    'true'/'false' for booleans, lists joined by ';'. Dates, numbers and text print as they are."""
    field = _field(model, lookup)
    if isinstance(field, BooleanField):
        return Case(
            When(**{lookup: True}, then=Value("true")),
            When(**{lookup: False}, then=Value("false")),
            output_field=CharField(),
        )
    if isinstance(field, JSONField):
        return _Joined(lookup)
    if isinstance(field, CharField):
        return NullIf(lookup, Value(""))
    return F(lookup)


def _cells(model: type[Model], lookups: list[str]) -> list[Expression]:
    return [_cell(model, lookup) for lookup in lookups]


# As FollowUpVisit.was_in_window: unknown until the visit took place.
_IN_WINDOW = Case(
    When(performed_on__isnull=True, then=Value(None)),
    When(performed_on__gte=F("window_opens_on"), performed_on__lte=F("window_closes_on"), then=Value("true")),
    default=Value("false"),
    output_field=CharField(),
)


def _visit_rows() -> tuple[list[str], QuerySet]:
    rows = (
        FollowUpVisit.objects.filter(plan__patient__in=registry_patients().values("pk"))
        .order_by("plan__patient__pseudonym", "plan_id", "due_on", "pk")
        .values_list(*_cells(FollowUpVisit, [*_common("plan__"), *VISIT_FIELDS]), _IN_WINDOW)
    )
    return [*COMMON_HEADER, *VISIT_FIELDS, "in_window"], rows


def _outcome_rows() -> tuple[list[str], QuerySet]:
    rows = (
        OutcomeRecord.objects.filter(patient__in=registry_patients().values("pk"))
        .order_by("visit__plan__patient__pseudonym", "visit__plan_id", "visit__due_on", "pk")
        .values_list(*_cells(OutcomeRecord, [*_common("visit__plan__"), "visit__label", *OUTCOME_FIELDS]))
    )
    return [*COMMON_HEADER, "visit_label", *OUTCOME_FIELDS], rows


def _adverse_event_rows() -> tuple[list[str], QuerySet]:
    rows = (
        AdverseEvent.objects.filter(patient__in=registry_patients().values("pk"))
        .order_by("plan__patient__pseudonym", "plan_id", "onset_on", "pk")
        .values_list(*_cells(AdverseEvent, [*_common("plan__"), *ADVERSE_EVENT_FIELDS]))
    )
    return [*COMMON_HEADER, *ADVERSE_EVENT_FIELDS], rows


_ROWS = {"visits": _visit_rows, "outcomes": _outcome_rows, "adverse_events": _adverse_event_rows}


class _Line:
    """A file-like object that hands back what csv.writer writes, so each row is encoded on its own."""

    def write(self, value: str) -> str:
        return value


def _copied(rows: QuerySet) -> Iterator[str]:
    """The query's rows as PostgreSQL's COPY writes them in CSV: the same quoting as Python's csv
    module (only where a value needs it), NULL as an empty cell, one line per row."""
    sql, params = rows.query.get_compiler(using=rows.db).as_sql()
    with connections[rows.db].cursor() as cursor:
        # Bound here, as Django's copy() takes a statement alone (and logs it, as it logs queries).
        statement = cursor.mogrify(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params)
        # Closed early (the client went away), psycopg cancels the COPY.
        with cursor.copy(statement) as copy:
            for row in copy:  # PostgreSQL sends each row as one CopyData message
                yield bytes(row).decode()


def csv_lines(table: str) -> Iterator[str]:
    """The header, then one CSV line per visit, outcome or adverse event of the registry's
    patients: for streaming responses and export files. Raises ValueError at once for a table that
    is not one of TABLES."""
    if table not in _ROWS:
        raise ValueError(f"Choose a table: {', '.join(TABLES)}.")
    return _lines(*_ROWS[table]())


def _lines(header: list[str], rows: QuerySet) -> Iterator[str]:
    # A generator, not a chain: closing it (as a streaming response does) ends the query at once.
    writer = csv.writer(_Line(), lineterminator="\n")
    yield writer.writerow(header)
    if connections[rows.db].vendor == "postgresql":
        yield from _copied(rows)
    else:
        for row in rows.iterator(chunk_size=CHUNK_SIZE):
            yield writer.writerow(row)


def row_count(table: str) -> int:
    """How many lines csv_lines(table) will give (the header included), for an export's progress."""
    model = {"visits": FollowUpVisit, "outcomes": OutcomeRecord, "adverse_events": AdverseEvent}[table]
    patient = "plan__patient__in" if model is FollowUpVisit else "patient__in"
    return 1 + model.objects.filter(**{patient: registry_patients().values("pk")}).count()
