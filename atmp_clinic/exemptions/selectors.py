"""Reads about requests: who sees which, and the authority's review clock."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from atmp_clinic.accounts.models import User
from atmp_clinic.accounts.selectors import visible_to

from .models import CRITERIA, IN_REVIEW_STATES, ExemptionRequest, State
from .services import missing_for_submission


def requests_visible_to(*, user: User) -> QuerySet[ExemptionRequest]:
    """Hospital staff see their hospital's requests; an authority sees those addressed to it, from
    submission on (its grant is given at submission)."""
    return visible_to(
        user=user,
        queryset=ExemptionRequest.objects.select_related("hospital", "authority", "patient", "product"),
    )


@dataclass(frozen=True)
class ReviewClock:
    phase: str  # "validation" or "assessment"
    days_in_review: int  # calendar days since submission, clock stops excluded
    stopped_days: int
    is_stopped: bool
    due_on: date
    is_overdue: bool


def review_clock(*, request: ExemptionRequest, today: date | None = None) -> ReviewClock | None:
    """The authority's clock while the request is in review; None before submission and after the end.

    Validation is due `validation_days` after submission; the decision `assessment_days` after
    validation, pushed back by every day the clock stood still for the hospital's answers."""
    if request.state not in IN_REVIEW_STATES or request.submitted_at is None:
        return None
    today = today or timezone.localdate()
    rules = request.authority
    stopped_days = 0
    is_stopped = False
    for asked in request.information_requests.all():
        end = asked.answered_at.date() if asked.answered_at else today
        stopped_days += (end - asked.asked_at.date()).days
        is_stopped = is_stopped or asked.answered_at is None
    days_in_review = (today - request.submitted_at.date()).days - stopped_days
    if request.state == State.SUBMITTED or request.validated_at is None:
        phase, due_on = "validation", request.submitted_at.date() + timedelta(days=rules.validation_days)
    else:
        phase = "assessment"
        due_on = request.validated_at.date() + timedelta(days=rules.assessment_days + stopped_days)
    return ReviewClock(
        phase=phase,
        days_in_review=days_in_review,
        stopped_days=stopped_days,
        is_stopped=is_stopped,
        due_on=due_on,
        is_overdue=not is_stopped and today > due_on,
    )


@dataclass(frozen=True)
class WorklistSection:
    key: str
    title: str
    empty: str
    rows: list  # of (request, clock)


def with_clocks(requests, today: date | None = None) -> list:
    return [(request, review_clock(request=request, today=today)) for request in requests]


def by_due_date(rows: list) -> list:
    """Overdue first, then the soonest due; requests without a running clock last."""
    return sorted(
        rows, key=lambda row: (row[1] is None, not (row[1] and row[1].is_overdue), row[1] and row[1].due_on)
    )


def worklist_for(*, user: User, membership) -> list[WorklistSection]:
    """What this person has to do now about requests, most urgent first."""
    visible = requests_visible_to(user=user).prefetch_related("information_requests", "assessments")
    role = membership.role if membership else None
    if role == "pharmacist":
        action = visible.filter(state__in=(State.DRAFT, State.RETURNED, State.INFORMATION_REQUESTED))
        waiting = visible.filter(state__in=IN_REVIEW_STATES).exclude(state=State.INFORMATION_REQUESTED)
        return [
            WorklistSection(
                "hospital-action", _("Requests needing your action"),
                _("No request needs your action."), with_clocks(action.order_by("-updated_at")),
            ),
            WorklistSection(
                "with-authority", _("With the authority"), _("No request is with the authority."),
                by_due_date(with_clocks(waiting)),
            ),
        ]  # fmt: skip
    if role == "clinician":
        to_sign = visible.filter(responsible_physician=user, state__in=(State.DRAFT, State.RETURNED))
        return [
            WorklistSection(
                "co-sign", _("Requests naming you as responsible physician"), _("No request awaits your signature."),
                with_clocks(to_sign.order_by("-updated_at")),
            )
        ]  # fmt: skip
    if role == "reviewer":
        sections = []
        if membership.is_validator:
            sections.append(WorklistSection(
                "to-validate", _("Requests awaiting validation"), _("No submitted request awaits validation."),
                by_due_date(with_clocks(visible.filter(state=State.SUBMITTED))),
            ))  # fmt: skip
        if membership.is_assessor:
            open_assessment = visible.filter(state=State.UNDER_ASSESSMENT).exclude(assessments__assessor=user)
            sections.append(WorklistSection(
                "to-assess", _("Requests awaiting an assessment"), _("No request awaits an assessment."),
                by_due_date(with_clocks(open_assessment)),
            ))  # fmt: skip
        if membership.is_decider:
            sections.append(WorklistSection(
                "to-decide", _("Requests ready for decision"), _("No request is ready for a decision."),
                by_due_date(with_clocks(visible.filter(state=State.READY_FOR_DECISION))),
            ))  # fmt: skip
        return sections
    return []


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
