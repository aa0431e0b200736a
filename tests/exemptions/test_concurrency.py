"""Two people acting at once on PostgreSQL: exactly one wins, the other is told why."""

import threading

import pytest
from django.db import connection

from atmp_clinic.accounts.models import Organisation, Role
from atmp_clinic.audit.selectors import events_for
from atmp_clinic.exemptions import services
from atmp_clinic.exemptions.models import Decision, ExemptionRequest, State
from tests.conftest import require_service, signature_of
from tests.exemptions.conftest import PASSWORD, ready_for_decision, user
from tests.factories import member

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def at_once(*actions) -> list[str]:
    """Run each action in its own thread and database connection, released together."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = []

    def run(action):
        try:
            barrier.wait(timeout=10)
            action()
            outcomes.append("done")
        except services.TransitionRefused as refused:
            outcomes.append(f"refused: {refused}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_deciders_at_once_make_one_decision():
    require_service("PostgreSQL", None if connection.vendor == "postgresql" else "the suite runs on SQLite")
    request = ready_for_decision()
    other = member(
        role=Role.REVIEWER,
        organisation=Organisation.objects.get(kind="authority", country="NL"),
        is_decider=True,
    )
    other.set_password(PASSWORD)
    other.save()
    outcomes = at_once(
        lambda: services.request_decide(
            actor=user("decider"),
            request=request,
            **signature_of(user("decider")),
            outcome="approved",
            reasons="Criteria met.",
        ),
        lambda: services.request_decide(
            actor=other,
            request=request,
            **signature_of(other),
            outcome="rejected",
            reasons="Benefit unproven.",
        ),
    )
    state = ExemptionRequest.objects.get(pk=request.pk).state
    assert sorted(o.split(":")[0] for o in outcomes) == ["done", "refused"]
    assert Decision.objects.filter(request=request).count() == 1
    assert state in (State.APPROVED, State.REJECTED)


def test_withdrawal_racing_a_validation_always_ends_withdrawn():
    require_service("PostgreSQL", None if connection.vendor == "postgresql" else "the suite runs on SQLite")
    from tests.exemptions.conftest import submitted

    request = submitted()
    outcomes = at_once(
        lambda: services.request_withdraw(
            actor=user("pharmacist"), request=request, reason="Patient improved."
        ),
        lambda: services.request_validate(actor=user("reviewer"), request=request),
    )
    # Either order ends withdrawn: validated then withdrawn, or withdrawn and the validation refused.
    actions = [e.action for e in events_for(obj=request)]
    assert ExemptionRequest.objects.get(pk=request.pk).state == State.WITHDRAWN
    assert actions[-1] == "withdrawn" and ("validated" in actions) == (outcomes.count("done") == 2)
