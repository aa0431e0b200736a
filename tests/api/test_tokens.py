"""API tokens (issue 8): a staff user's own tokens at /accounts/api-tokens/, stored as digests,
several per user, each expiring, revocable and audited; a token is its user, with their permissions."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from atmp_clinic.accounts.models import User
from atmp_clinic.accounts.selectors import active_membership
from atmp_clinic.accounts.services import membership_end
from atmp_clinic.api import services
from atmp_clinic.audit.models import AuditEvent
from atmp_clinic.patients.models import Patient
from tests.api.conftest import organisation_of, token_for
from tests.conftest import log_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo")]

PATIENTS = "/api/v1/patients/"
STAFF = ["pharmacist", "clinician", "reviewer", "decider", "analyst", "admin"]


def browser(username: str) -> APIClient:
    return log_in(APIClient(), User.objects.get(username=username))


def create(username: str, days: int = 30) -> str:
    """A token made on the page, as its user would; the token the page shows."""
    response = browser(username).post(reverse("api-token-create"), {"days": days})
    assert response.status_code == 200
    return response.context["secret"]


def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def key_of(token: str) -> str:
    return AuthToken.objects.get(digest=hash_token(token)).token_key


@pytest.mark.parametrize("username", STAFF)
def test_each_staff_role_has_the_token_page(username):
    assert browser(username).get(reverse("api-token-list")).status_code == 200


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "api-token-list", []),
        ("post", "api-token-create", []),
        ("post", "api-token-revoke", ["0123456789abcde"]),
    ],
)
def test_a_patient_finds_no_token_page(method, name, args):
    response = getattr(browser("patient"), method)(reverse(name, args=args), {"days": 30})
    assert response.status_code == 404 and not AuthToken.objects.filter(user__username="patient").exists()


def test_an_anonymous_visitor_is_sent_to_log_in():
    response = APIClient().get(reverse("api-token-list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_created_token_authenticates_its_user_with_the_token_header():
    response = api(create("pharmacist")).get(PATIENTS)
    assert response.status_code == 200 and response.json()["count"] > 0


def test_the_token_is_shown_once_and_only_its_digest_is_kept():
    token = create("pharmacist")
    stored = AuthToken.objects.get(user__username="pharmacist")
    listing = browser("pharmacist").get(reverse("api-token-list")).content.decode()
    assert stored.digest == hash_token(token) and token not in listing and stored.token_key in listing


def test_the_created_page_is_not_cached():
    response = browser("pharmacist").post(reverse("api-token-create"), {"days": 7})
    assert response["Cache-Control"] == "no-store"


def test_a_user_holds_several_tokens_each_with_the_lifetime_chosen():
    for days in (7, 90):
        create("clinician", days)
    tokens = browser("clinician").get(reverse("api-token-list")).context["tokens"]
    lifetimes = sorted(round((token.expiry - token.created) / timedelta(days=1)) for token in tokens)
    assert lifetimes == [7, 90]


@pytest.mark.parametrize("days", [365, 0, "forever"])
def test_a_lifetime_not_offered_is_refused(days):
    response = browser("clinician").post(reverse("api-token-create"), {"days": days})
    assert response.status_code == 400 and not AuthToken.objects.filter(user__username="clinician").exists()


def test_creating_a_token_is_audited_without_the_token():
    token = create("reviewer", 7)
    event = AuditEvent.objects.get(action="api_token_created")
    stored = AuthToken.objects.get(user__username="reviewer")
    recorded = (event.actor.username, event.object_id, event.after["token_key"], set(event.after))
    assert recorded == ("reviewer", stored.user_id, stored.token_key, {"token_key", "expiry"})
    assert token not in str(event.after)


def test_revoking_a_token_is_audited():
    token = create("reviewer")
    key = key_of(token)
    browser("reviewer").post(reverse("api-token-revoke", args=[key]))
    event = AuditEvent.objects.get(action="api_token_revoked")
    assert (event.actor.username, event.after["token_key"]) == ("reviewer", key)


def test_a_revoked_token_gets_401():
    token = create("analyst")
    response = browser("analyst").post(reverse("api-token-revoke", args=[key_of(token)]))
    assert response.status_code == 302 and api(token).get(PATIENTS).status_code == 401


def test_revoking_is_a_post():
    token = create("analyst")
    response = browser("analyst").get(reverse("api-token-revoke", args=[key_of(token)]))
    assert response.status_code == 405 and api(token).get(PATIENTS).status_code == 200


def test_revoking_another_users_token_is_404_and_it_keeps_working():
    token = create("pharmacist")
    response = browser("pharmacist_2").post(reverse("api-token-revoke", args=[key_of(token)]))
    assert response.status_code == 404 and api(token).get(PATIENTS).status_code == 200


def test_another_users_token_is_not_listed():
    create("pharmacist")
    assert not browser("pharmacist_2").get(reverse("api-token-list")).context["tokens"]


def test_an_expired_token_gets_401():
    token = token_for("pharmacist", expiry=timedelta(seconds=-1))
    assert api(token).get(PATIENTS).status_code == 401


def test_an_expired_token_is_not_listed_and_goes_when_the_user_creates_another():
    token_for("pharmacist", expiry=timedelta(seconds=-1))
    listed = browser("pharmacist").get(reverse("api-token-list")).context["tokens"]
    create("pharmacist")
    assert not listed and AuthToken.objects.filter(user__username="pharmacist").count() == 1


def test_an_unknown_or_malformed_token_gets_401():
    statuses = {api(token).get(PATIENTS).status_code for token in ("0" * 64, "not-hex-ü", "x")}
    assert statuses == {401}


def test_a_token_sees_only_what_its_user_may_see():
    patient = Patient.objects.filter(hospital=organisation_of("pharmacist")).first()
    client = api(create("pharmacist_2"))
    listed = {row["id"] for row in client.get(PATIENTS, {"page_size": 1000}).json()["results"]}
    assert client.get(f"{PATIENTS}{patient.pk}/").status_code == 404 and patient.pk not in listed


def test_a_deactivated_users_token_gets_401():
    token = create("clinician")
    User.objects.filter(username="clinician").update(is_active=False)
    assert api(token).get(PATIENTS).status_code == 401


def test_a_user_whose_membership_ended_sees_nothing_with_their_token():
    token = create("clinician")
    membership_end(membership=active_membership(user=User.objects.get(username="clinician")))
    assert api(token).get(PATIENTS).json()["count"] == 0


def test_an_analyst_whose_membership_ended_exports_nothing():
    token = create("analyst")
    membership_end(membership=active_membership(user=User.objects.get(username="analyst")))
    assert api(token).get("/api/v1/registry/export.ndjson").status_code == 404


def test_the_service_gives_a_patient_no_token():
    with pytest.raises(PermissionDenied):
        services.api_token_create(actor=User.objects.get(username="patient"), days=30)


def test_the_service_refuses_a_lifetime_beyond_90_days():
    with pytest.raises(ValidationError):
        services.api_token_create(actor=User.objects.get(username="clinician"), days=365)


def test_the_service_revokes_only_the_actors_own_token():
    token = AuthToken.objects.get(digest=hash_token(create("pharmacist")))
    with pytest.raises(PermissionDenied):
        services.api_token_revoke(actor=User.objects.get(username="pharmacist_2"), token=token)


@pytest.mark.parametrize("username", [*STAFF, "patient"])
def test_the_menu_links_the_token_page_for_those_who_may_hold_tokens(username):
    page = browser(username).get(reverse("password_change")).content.decode()
    assert (f'href="{reverse("api-token-list")}"' in page) is (username != "patient")
