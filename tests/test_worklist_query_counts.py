"""The three worklists the benchmarks time at volume (bench/worklists.py) cost a fixed number of
SQL queries whatever the number of rows they list: counted with a few rows, then with more than
a page of them, the counts are equal and pinned. An N+1 would pass at 2 rows and fail at 20."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atmp_clinic.accounts.views import WORKLIST_ROWS
from atmp_clinic.exemptions import services
from atmp_clinic.patients.models import ConsentKind
from atmp_clinic.registry import dashboards
from tests.api.test_visits import given
from tests.exemptions.conftest import client_for, submitted, under_assessment, user
from tests.followup.conftest import EMAIL, enrolled_patient
from tests.registry.test_services import SERIOUS_REACTION, adverse_event


@pytest.fixture(autouse=True)
def _demo(demo):
    """The demo's people: the reviewer, clinician and analyst whose pages are counted."""


def queries(client: Client, url: str, listed: str) -> tuple[int, int, str]:
    """The queries of one GET of the page, how many times `listed` (a row's link) appears on it, and
    the page."""
    client.get(url)  # the first request of a session may do one-off work (caches, session renewal)
    with CaptureQueriesContext(connection) as caught:
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    return len(caught), html.count(listed), html


def treated_patients(count: int, **consents) -> list:
    """Plans of new patients given the product a month ago: their day-7 and day-14 visits are
    overdue now, the day-28 one due this week."""
    return [given(enrolled_patient(**consents), days_ago=30) for _ in range(count)]


def test_authority_queue_costs_the_same_queries_for_2_and_20_requests():
    # requests awaiting validation, each with a serious reaction's expedited report for the authority
    plans = treated_patients(2)
    for plan in plans:
        adverse_event(plan, grade=3, **SERIOUS_REACTION)
    for _ in range(2):
        submitted()
    few, few_rows, _ = queries(client_for("reviewer"), reverse("home"), "/requests/")
    for plan in plans:
        for _ in range(9):
            adverse_event(plan, grade=3, **SERIOUS_REACTION)
    for _ in range(WORKLIST_ROWS):
        submitted()
    many, many_rows, html = queries(client_for("reviewer"), reverse("home"), "/requests/")
    assert many_rows > few_rows + 5
    assert f"1–{WORKLIST_ROWS} of" in html  # the requests awaiting validation fill their first page
    assert (few, many) == (REVIEWER_HOME, REVIEWER_HOME)


def waiting_for_answers(count: int) -> None:
    """Requests whose clock stands still for the hospital's answer: their rows show when it is due."""
    for _ in range(count):
        services.request_ask_information(
            actor=user("assessor"), request=under_assessment(), questions="Data?"
        )


def test_pharmacist_worklist_costs_the_same_queries_for_2_and_20_requests_awaiting_answers():
    waiting_for_answers(2)
    few, few_rows, _ = queries(client_for("pharmacist"), reverse("home"), "Answer due by")
    waiting_for_answers(WORKLIST_ROWS)
    many, many_rows, _ = queries(client_for("pharmacist"), reverse("home"), "Answer due by")
    assert few_rows < many_rows == WORKLIST_ROWS  # the first page of the section is full
    assert (few, many) == (PHARMACIST_HOME, PHARMACIST_HOME)


def test_clinician_due_visits_cost_the_same_queries_for_2_and_20_visits():
    treated_patients(1)  # 3 visits to act on
    few, few_rows, _ = queries(client_for("clinician"), reverse("home"), "/visits/")
    treated_patients(11)  # 36, more than a page
    many, many_rows, html = queries(client_for("clinician"), reverse("home"), "/visits/")
    assert many_rows > few_rows + 5
    assert f"1–{WORKLIST_ROWS} of" in html
    assert (few, many) == (CLINICIAN_HOME, CLINICIAN_HOME)


def dashboard_queries(client: Client) -> tuple[int, int]:
    """The queries of one GET of the dashboard computing its figures, then of one showing them kept."""
    client.get(reverse("dashboard"))  # the first request of a session may do one-off work
    dashboards.cache.clear()
    with CaptureQueriesContext(connection) as computing:
        assert client.get(reverse("dashboard")).status_code == 200
    with CaptureQueriesContext(connection) as kept:
        assert client.get(reverse("dashboard")).status_code == 200
    return len(computing), len(kept)


def test_analyst_dashboard_costs_the_same_queries_for_2_and_20_plans():
    consents = {"consents": (EMAIL, ConsentKind.REGISTRY)}
    for plan in treated_patients(2, **consents):
        adverse_event(plan, grade=2)
    few = dashboard_queries(client_for("analyst"))
    for plan in treated_patients(18, **consents):
        adverse_event(plan, grade=3)
    many = dashboard_queries(client_for("analyst"))
    assert few == many == (ANALYST_DASHBOARD_COMPUTED, ANALYST_DASHBOARD_KEPT)


# Pinned: a change that adds a query per page shows here, one that adds a query per row fails above.
# A list with nothing in it costs no query: each request section's shown page, read by id
# (exemptions.selectors.requests_of_rows), and the patients at risk (none here).
REVIEWER_HOME = 11  # the active membership read once, by the middleware
CLINICIAN_HOME = 16
PHARMACIST_HOME = 14  # the answers' deadlines come with the clock's read of the information requests
ANALYST_DASHBOARD_COMPUTED = 12
ANALYST_DASHBOARD_KEPT = 8  # the kept figures replace the four figures' queries
