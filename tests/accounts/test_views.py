import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from atmp_clinic.accounts.models import User
from tests.conftest import authenticator_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_authenticators")]
PASSWORD = "demo-pass-2026"

LANDING_HEADINGS = {
    "pharmacist": "Pharmacist worklist",
    "clinician": "Clinician worklist",
    "patient": "Your follow-up visits",
    "reviewer": "Authority worklist",
    "decider_b": "Authority worklist",
    "analyst": "Registry analyst",
    "admin": "Administrator",
}


def log_in(client: Client, username: str, password: str = PASSWORD):
    """Through the login page, then the second factor's page when it asks for a code."""
    response = client.post(reverse("login"), {"username": username, "password": password}, follow=True)
    if response.resolver_match.url_name == "second-factor-verify":
        code = authenticator_code(User.objects.get(username=username))
        response = client.post(reverse("second-factor-verify"), {"code": code, "next": "/"}, follow=True)
    return response


@pytest.mark.parametrize(("username", "heading"), LANDING_HEADINGS.items())
def test_each_role_lands_on_its_own_worklist(demo, username, heading):
    response = log_in(Client(), username)
    assert f"<h1>{heading}</h1>" in response.content.decode()


def test_header_shows_user_role_and_organisation(demo):
    page = log_in(Client(), "assessor_b").content.decode()
    assert all(part in page for part in ("Matthias Groß", "Authority reviewer (assessor)", "Bundesamt"))


def test_validator_sees_validation_queue_but_not_decision_queue(demo):
    page = log_in(Client(), "reviewer").content.decode()
    assert ("Requests awaiting validation" in page, "Requests ready for decision" in page) == (True, False)


def test_hospital_worklist_shows_its_authoritys_deadlines(demo):
    page = log_in(Client(), "pharmacist_b").content.decode()
    assert "within 12 days" in page


def test_user_without_role_is_told_so(db):
    User.objects.create_user(username="loner", password=PASSWORD)
    assert "You have no role yet" in log_in(Client(), "loner").content.decode()


def test_wrong_password_says_so_and_keeps_the_username(demo):
    page = log_in(Client(), "pharmacist", "wrong-password").content.decode()
    assert "Please enter a correct username and password" in page and 'value="pharmacist"' in page


def test_repeated_failures_lock_the_login_out(demo, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "clinician", "wrong-password")
    response = log_in(client, "clinician")  # even the right password is refused now
    assert response.status_code == 429 and "Too many failed log-in attempts" in response.content.decode()


def test_administrator_lifts_a_lockout(demo, settings):
    from axes.utils import reset

    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "clinician", "wrong-password")
    reset(username="clinician")
    assert "Clinician worklist" in log_in(client, "clinician").content.decode()


def test_logout_is_a_post_and_ends_the_session(demo):
    client = Client()
    log_in(client, "pharmacist")
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_password_change_rejects_a_short_password_and_keeps_the_old_one(demo):
    client = Client()
    log_in(client, "analyst")
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
    )
    assert "too short" in response.content.decode()
    assert User.objects.get(username="analyst").check_password(PASSWORD)


def test_password_change_works(demo):
    client = Client()
    log_in(client, "analyst")
    new = "a-much-longer-passphrase-2026"
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert "Password changed" in response.content.decode()
    assert User.objects.get(username="analyst").check_password(new)


def test_stylesheet_is_served_by_us(demo):
    page = log_in(Client(), "pharmacist").content.decode()
    assert 'href="/static/css/app.css"' in page and "//cdn" not in page


def test_admin_manages_organisations(demo):
    client = Client()
    log_in(client, "admin")
    assert client.get(reverse("admin:accounts_organisation_changelist")).status_code == 200


def test_non_staff_cannot_reach_the_admin(demo):
    client = Client()
    log_in(client, "pharmacist")
    assert client.get(reverse("admin:accounts_organisation_changelist")).status_code == 302


def test_every_page_names_its_icon_so_browsers_do_not_ask_for_a_missing_favicon_ico(client):
    # Without it every page made the browser request /favicon.ico, a 404 in its console.
    page = client.get(reverse("login")).content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg"' in page
    assert finders.find("img/favicon.svg")


def test_a_patients_menu_names_their_visits_not_a_worklist(client):
    log_in(client, "patient")
    nav = (
        client.get(reverse("home"))
        .content.decode()
        .split('<nav class="site-nav"', 1)[1]
        .split("</nav>", 1)[0]
    )
    assert "Your visits" in nav and "Worklist" not in nav
