"""The authority's review clock: days in review without the clock stops, due dates by its rules."""

from datetime import timedelta

import pytest
from django.utils import timezone

from atmp_clinic.exemptions import services
from atmp_clinic.exemptions.models import InformationRequest
from atmp_clinic.exemptions.selectors import review_clock
from tests.exemptions.conftest import new_draft, submitted, under_assessment, user

pytestmark = pytest.mark.django_db


def test_no_clock_before_submission():
    assert review_clock(request=new_draft()) is None


def test_validation_is_due_by_the_authoritys_validation_days():
    request = submitted()
    clock = review_clock(request=request)
    assert (clock.phase, clock.due_on) == ("validation", request.submitted_at.date() + timedelta(days=14))


def test_overdue_after_the_due_date():
    request = submitted()
    later = request.submitted_at.date() + timedelta(days=15)
    assert review_clock(request=request, today=later).is_overdue


def test_decision_is_due_by_the_assessment_days_after_validation():
    request = under_assessment()
    assert review_clock(request=request).due_on == request.validated_at.date() + timedelta(days=28)


def test_a_clock_stop_pushes_the_due_date_back_and_is_not_counted():
    request = under_assessment()
    asked = services.request_ask_information(actor=user("assessor"), request=request, questions="More data?")
    # The hospital answers ten days later.
    InformationRequest.objects.filter(pk=asked.pk).update(asked_at=timezone.now() - timedelta(days=10))
    services.request_answer_information(actor=user("pharmacist"), request=request, answer="Here.")
    clock = review_clock(request=request)
    assert (clock.stopped_days, clock.due_on, clock.is_stopped) == (
        10,
        request.validated_at.date() + timedelta(days=28 + 10),
        False,
    )


def test_a_stopped_clock_is_never_overdue():
    request = under_assessment()
    services.request_ask_information(actor=user("assessor"), request=request, questions="More data?")
    far = timezone.localdate() + timedelta(days=100)
    clock = review_clock(request=request, today=far)
    assert (clock.is_stopped, clock.is_overdue) == (True, False)


def test_days_in_review_exclude_the_stop():
    request = under_assessment()
    asked = services.request_ask_information(actor=user("assessor"), request=request, questions="More data?")
    InformationRequest.objects.filter(pk=asked.pk).update(asked_at=timezone.now() - timedelta(days=4))
    services.request_answer_information(actor=user("pharmacist"), request=request, answer="Here.")
    in_a_week = timezone.localdate() + timedelta(days=7)
    assert review_clock(request=request, today=in_a_week).days_in_review == 7 - 4
