"""Reads about requests: who sees which, and the authority's review clock."""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from atmp_clinic.accounts.models import User
from atmp_clinic.accounts.selectors import visible_to
from atmp_clinic.audit.selectors import events_for

from .models import CRITERIA, IN_REVIEW_STATES, Assessment, ExemptionRequest, InformationRequest, State
from .services import missing_for_submission


def requests_visible_to(*, user: User) -> QuerySet[ExemptionRequest]:
    """Hospital staff see their hospital's requests; an authority sees those addressed to it, from
    submission on (its grant is given at submission)."""
    return visible_to(
        user=user,
        queryset=ExemptionRequest.objects.select_related("hospital", "authority", "patient", "product"),
    )


# What the hospital may change on a returned request to answer the authority's reason.
CHANGING_ACTIONS = ("edited", "attachment_added")


@dataclass(frozen=True)
class ReturnNotice:
    """Why the authority gave a request back: who, when, the reason, and whether the hospital has
    changed the request since."""

    returned_by: User | None
    returned_at: datetime
    reason: str
    changed_since: bool


def return_notice(*, request: ExemptionRequest) -> ReturnNotice | None:
    """The authority's latest return of a request that is returned now (the reason lives on the
    audit event the return wrote); None in any other state."""
    if request.state != State.RETURNED:
        return None
    events = list(events_for(obj=request).filter(action__in=("returned", *CHANGING_ACTIONS)).order_by("id"))
    returns = [index for index, event in enumerate(events) if event.action == "returned"]
    if not returns:
        return None
    returned = events[returns[-1]]
    return ReturnNotice(
        returned_by=returned.actor,
        returned_at=returned.occurred_at,
        reason=returned.reason,
        changed_since=len(events) > returns[-1] + 1,
    )


REVIEW_PHASES = {
    "validation": pgettext_lazy("review phase", "validation"),
    "assessment": pgettext_lazy("review phase", "assessment"),
}


@dataclass(frozen=True)
class ReviewClock:
    phase: str  # "validation" or "assessment"
    days_in_review: int  # calendar days since submission, clock stops excluded
    stopped_days: int
    is_stopped: bool
    due_on: date
    is_overdue: bool
    # While stopped: the date by which the hospital must answer the open request for information.
    answer_due_on: date | None = None

    @property
    def phase_label(self) -> str:
        return REVIEW_PHASES[self.phase]


def review_clock(*, request: ExemptionRequest, today: date | None = None) -> ReviewClock | None:
    """The authority's clock while the request is in review; None before submission and after the end."""
    return _clock(
        state=request.state,
        submitted_at=request.submitted_at,
        validated_at=request.validated_at,
        validation_days=request.authority.validation_days,
        assessment_days=request.authority.assessment_days,
        asked=[
            (asked.asked_at, asked.answered_at, asked.answer_due_on)
            for asked in request.information_requests.all()
        ],
        today=today,
    )


def _clock(
    *,
    state: str,
    submitted_at: datetime | None,
    validated_at: datetime | None,
    validation_days: int,
    assessment_days: int,
    asked: Iterable[tuple[datetime, datetime | None, date]],  # asked, answered, answer due
    today: date | None,
) -> ReviewClock | None:
    """Validation is due `validation_days` after submission; the decision `assessment_days` after
    validation, pushed back by every day the clock stood still for the hospital's answers."""
    if state not in IN_REVIEW_STATES or submitted_at is None:
        return None
    today = today or timezone.localdate()
    stopped_days = 0
    is_stopped = False
    answer_due_on = None
    for asked_at, answered_at, answer_due in asked:
        end = answered_at.date() if answered_at else today
        stopped_days += (end - asked_at.date()).days
        if answered_at is None:
            is_stopped, answer_due_on = True, answer_due
    days_in_review = (today - submitted_at.date()).days - stopped_days
    if state == State.SUBMITTED or validated_at is None:
        phase, due_on = "validation", submitted_at.date() + timedelta(days=validation_days)
    else:
        phase = "assessment"
        due_on = validated_at.date() + timedelta(days=assessment_days + stopped_days)
    return ReviewClock(
        phase=phase,
        days_in_review=days_in_review,
        stopped_days=stopped_days,
        is_stopped=is_stopped,
        due_on=due_on,
        is_overdue=not is_stopped and today > due_on,
        answer_due_on=answer_due_on,
    )


@dataclass(frozen=True)
class WorklistSection:
    """One part of a worklist: its rows, most urgent first, to be paged through (a list or anything
    django.core.paginator takes)."""

    key: str
    title: str
    empty: str
    rows: Sequence  # of (request, clock) here; of visits in the clinician's follow-up


def clocked(requests: QuerySet[ExemptionRequest], **annotations) -> list[tuple]:
    """Each request's light row (pk, state, the clock's columns and `annotations`, as named fields)
    with its clock, in the queryset's order: two reads whatever their number. Full requests are made into objects only for
    the rows a page shows (requests_of_rows): at an authority's volume, objects and a clock per related
    manager for every request cost a worklist most of its time (bench/worklists.py)."""
    light = list(
        requests.annotate(**annotations).values_list(
            "pk", "state", "submitted_at", "validated_at", "authority__validation_days",
            "authority__assessment_days", *annotations, named=True,
        )
    )  # fmt: skip
    asked = defaultdict(list)
    for request_id, *asked_answered_due in InformationRequest.objects.filter(
        request_id__in=[row.pk for row in light if row.submitted_at]
    ).values_list("request_id", "asked_at", "answered_at", "answer_due_on"):
        asked[request_id].append(tuple(asked_answered_due))
    today = timezone.localdate()
    return [
        (row, _clock(
            state=row.state, submitted_at=row.submitted_at, validated_at=row.validated_at,
            validation_days=row.authority__validation_days, assessment_days=row.authority__assessment_days,
            asked=asked[row.pk], today=today,
        ))
        for row in light
    ]  # fmt: skip


class PageRows:
    """A worklist section's rows, already in order, made into what a page shows only for the page
    asked (django.core.paginator takes it like a queryset): the order comes from a light read of
    every row, `read` makes the objects for the ten rows of a page."""

    def __init__(self, rows: list, read: Callable[[list], list]):
        self._rows = rows
        self._read = read

    def count(self) -> int:
        return len(self._rows)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list:
        return self._read(self._rows[index])


def requests_of_rows(rows: list[tuple]) -> list[tuple[ExemptionRequest, ReviewClock | None]]:
    """The requests of a page of `clocked` rows, each with its clock."""
    # By id alone: the rows come from the requests the person sees. Only the row's columns: the
    # full request, and the patient with its encrypted identity, cost more than the page.
    by_pk = (
        ExemptionRequest.objects.select_related("hospital", "patient", "product")
        .only("reference", "state", "hospital__name", "patient__pseudonym", "product__name")
        .in_bulk([row.pk for row, _ in rows])
    )
    return [(by_pk[row.pk], clock) for row, clock in rows]


def by_due_date(rows: list) -> list:
    """Overdue first, then the soonest due; requests without a running clock last."""
    return sorted(
        rows, key=lambda row: (row[1] is None, not (row[1] and row[1].is_overdue), row[1] and row[1].due_on)
    )


def worklist_for(*, user: User, membership) -> list[WorklistSection]:
    """What this person has to do now about requests, most urgent first."""
    role = membership.role if membership else None
    listable = {
        "pharmacist": Q(state__in=(State.DRAFT, State.RETURNED, *IN_REVIEW_STATES)),
        "clinician": Q(state__in=(State.DRAFT, State.RETURNED), responsible_physician=user),
        "reviewer": Q(state__in=(State.SUBMITTED, State.UNDER_ASSESSMENT, State.READY_FOR_DECISION)),
    }
    if role not in listable:
        return []
    # One light read of every request the worklist may list, from which each section takes its own.
    listed = clocked(
        requests_visible_to(user=user).filter(listable[role]).order_by("-updated_at", "-pk"),
        assessed_by_user=Exists(Assessment.objects.filter(request=OuterRef("pk"), assessor=user)),
    )

    def rows(keep: Callable, *, most_recent_first: bool = False) -> PageRows:
        """Those to act on first by their clock; or, before the authority has them, the most
        recently changed first."""
        kept = [(row, clock) for row, clock in listed if keep(row)]
        return PageRows(kept if most_recent_first else by_due_date(kept), requests_of_rows)

    if role == "pharmacist":
        return [
            WorklistSection(
                "hospital-action", _("Requests needing your action"), _("No request needs your action."),
                rows(lambda r: r.state in (State.DRAFT, State.RETURNED, State.INFORMATION_REQUESTED),
                     most_recent_first=True),
            ),
            WorklistSection(
                "with-authority", _("With the authority"), _("No request is with the authority."),
                rows(lambda r: r.state in IN_REVIEW_STATES and r.state != State.INFORMATION_REQUESTED),
            ),
        ]  # fmt: skip
    if role == "clinician":
        return [
            WorklistSection(
                "co-sign", _("Requests naming you as responsible physician"), _("No request awaits your signature."),
                rows(lambda r: True, most_recent_first=True),
            )
        ]  # fmt: skip
    sections = []
    if membership.is_validator:
        sections.append(WorklistSection(
            "to-validate", _("Requests awaiting validation"), _("No submitted request awaits validation."),
            rows(lambda r: r.state == State.SUBMITTED),
        ))  # fmt: skip
    if membership.is_assessor:
        sections.append(WorklistSection(
            "to-assess", _("Requests awaiting an assessment"), _("No request awaits an assessment."),
            rows(lambda r: r.state == State.UNDER_ASSESSMENT and not r.assessed_by_user),
        ))  # fmt: skip
    if membership.is_decider:
        sections.append(WorklistSection(
            "to-decide", _("Requests ready for decision"), _("No request is ready for a decision."),
            rows(lambda r: r.state == State.READY_FOR_DECISION),
        ))  # fmt: skip
    return sections


@dataclass(frozen=True)
class FormProgress:
    """How far a long form is, section by section: (id, title, complete) in the form's order."""

    sections: list[tuple[str, str, bool]]
    missing_reasons: dict[str, str] = field(default_factory=dict)  # what stops completion, by field

    @property
    def total(self) -> int:
        return len(self.sections)

    @property
    def complete(self) -> int:
        return sum(done for _, _, done in self.sections)

    @property
    def missing(self) -> list[str]:
        return [title for _, title, done in self.sections if not done]

    def is_complete(self, section: str) -> bool:
        return any(done for key, _, done in self.sections if key == section)


# The request form's sections, each with the fields it holds; a section is complete when nothing
# submission needs is missing from it (missing_for_submission, the rule submitting enforces).
REQUEST_SECTIONS = (
    ("patient", _("Patient and product"), ("patient", "product")),
    ("kind", _("Kind of request"), ("kind", "modifies")),
    ("indication", _("Indication and unmet need"),
     ("indication_code", "indication", "unmet_need", "not_otherwise_available")),
    ("criteria", _("Hospital-exemption criteria"), tuple(CRITERIA)),
    ("treatment", _("Treatment"), ("dose", "route", "frequency", "batches_expected", "planned_administration_date")),
    ("manufacturing", _("Manufacturing and quality"),
     ("manufacturing_site", "manufacturing_authorisation", "qualified_person", "quality_summary")),
    ("safety", _("Pharmacovigilance and follow-up"), ("pharmacovigilance", "follow_up_plan")),
    ("physician", _("Responsible physician"), ("responsible_physician",)),
)  # fmt: skip


def request_progress(*, request: ExemptionRequest) -> FormProgress:
    missing = missing_for_submission(request=request)
    return FormProgress(
        [(key, title, not missing.keys() & set(names)) for key, title, names in REQUEST_SECTIONS], missing
    )
