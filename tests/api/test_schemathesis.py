"""The API against its own OpenAPI schema (/api/v1/schema/), in process through WSGI, as each role
calls it with a token: no answer is a server error, and every answer is one the schema documents,
with the content type and body it describes. Schemathesis draws the inputs from the schema, valid
and invalid; each operation and role is one test, in a transaction rolled back after it."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from atmp_clinic.wsgi import application
from tests.api.conftest import client_for, token_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo")]

ROLES = ["pharmacist", "clinician", "reviewer", "decider", "analyst", "admin", "patient"]
# Examples per operation and role: enough to reach each operation's validation and permission
# paths, few enough that the whole file runs in about two minutes on PostgreSQL.
MAX_EXAMPLES = 5
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

config = schemathesis.Config()
# The coverage phase adds dozens of boundary cases per operation: outside the time this file may take.
config.projects.default.phases.update(phases=["examples", "fuzzing"])
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application, config=config)


@pytest.fixture(autouse=True)
def connection_kept_open():
    """Django's WSGI handler closes the database connection around each request, which would end
    the test's transaction; Django's own test client leaves it open in the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def authorization(role: str) -> dict[str, str]:
    return {"Authorization": f"Token {token_for(role)}"}


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
# Derandomized, without an example database: the same inputs each run, so a failure is reproducible
# and a known one stays failing. The token fixture is meant to serve every example of the test.
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_every_answer_is_documented_and_none_is_a_server_error(case, role, authorization):
    case.call_and_validate(headers=authorization, checks=CHECKS)


def test_an_api_url_that_matches_no_route_answers_json():
    """An id with a dot matches no route: still the API's JSON 404, not Django's HTML page."""
    response = client_for("pharmacist").get("/api/v1/patients/2.5/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
