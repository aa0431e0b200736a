import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_and_lists_patients():
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    assert schema["openapi"].startswith("3.") and "/api/v1/patients/" in schema["paths"]


def test_api_has_no_browsable_html_pages():
    response = APIClient().get("/api/v1/patients/", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
