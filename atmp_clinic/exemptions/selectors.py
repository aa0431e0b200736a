"""Reads about requests: who sees which, and the authority's review clock."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from atmp_clinic.accounts.models import User
from atmp_clinic.accounts.selectors import visible_to

from .models import IN_REVIEW_STATES, ExemptionRequest, State


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
