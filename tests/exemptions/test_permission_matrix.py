"""Every page of a request × every demo user: each sees and does exactly what their role and
organisation allow; for anything else the page does not exist (404) and lists show nothing."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from atmp_clinic.accounts.demo import DEMO_USERS
from atmp_clinic.exemptions.models import ExemptionRequest
from tests.conftest import log_in
from tests.exemptions.conftest import new_draft, submitted, user

pytestmark = pytest.mark.django_db

USERNAMES = [demo_user.username for demo_user in DEMO_USERS]
HOSPITAL_STAFF = {"pharmacist", "clinician"}  # of the requests' hospital
AUTHORITY = {"reviewer", "assessor", "assessor2", "decider"}  # of its country


def sees(username: str, request: ExemptionRequest) -> bool:
    return username in HOSPITAL_STAFF or (username in AUTHORITY and request.state != "draft")


@pytest.fixture(scope="module")
def clients(django_db_blocker):
    """Logged in once for the module, outside the tests' transactions: what logging in committed
    (the sessions, an authenticator for each role that needs one) is taken away after, or the
    modules that follow would find those users signing with a code the demo never gave them."""
    with django_db_blocker.unblock():
        devices_before = list(TOTPDevice.objects.values_list("pk", flat=True))
        made = {username: log_in(Client(), user(username)) for username in USERNAMES}
    yield made
    with django_db_blocker.unblock():
        TOTPDevice.objects.exclude(pk__in=devices_before).delete()
        Session.objects.filter(
            session_key__in=[client.session.session_key for client in made.values()]
        ).delete()


@pytest.mark.parametrize("username", USERNAMES)
def test_request_pages_for_every_user(username, clients):
    client = clients[username]
    draft, sent = new_draft(), submitted()
    for request in (draft, sent):
        expected = 200 if sees(username, request) else 404
        detail = client.get(reverse("request-detail", args=[request.pk]))
        assert detail.status_code == expected, (username, request.state, "detail")
        listed = request.reference in client.get(reverse("request-list")).content.decode()
        assert listed == sees(username, request), (username, request.state, "list")
    edit = client.get(reverse("request-edit", args=[draft.pk])).status_code
    assert edit == (200 if username == "pharmacist" else 404), (username, "edit")
    attach = client.post(reverse("attachment-create", args=[draft.pk]), {"description": "x"}).status_code
    assert attach == (400 if username == "pharmacist" else 404), (username, "attach")  # 400: no file sent


@pytest.mark.parametrize("username", USERNAMES)
def test_a_step_is_taken_only_by_the_person_whose_step_it_is(username, clients):
    sent = submitted()
    response = clients[username].post(reverse("request-step", args=[sent.pk, "validate"]), {})
    assert response.status_code == (302 if username == "reviewer" else 404), username


def test_the_edit_page_of_a_sent_request_says_it_can_no_longer_be_edited(clients):
    response = clients["pharmacist"].get(reverse("request-edit", args=[submitted().pk]), follow=True)
    assert "can no longer be edited" in response.content.decode()
