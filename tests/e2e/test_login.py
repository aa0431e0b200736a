import pytest

from atmp_clinic.accounts.demo import DEMO_PASSWORD
from atmp_clinic.accounts.models import User
from tests.conftest import authenticator_code
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pharmacist_logs_in_and_sees_the_pharmacist_worklist(site, page):
    page.goto(f"{site}/")
    page.get_by_label("Username").fill("pharmacist")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", level=1, name="Enter your code").wait_for()
    page.get_by_label("Code").fill(authenticator_code(User.objects.get(username="pharmacist")))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", level=1, name="Pharmacist worklist").wait_for()
    screenshot(page, "pharmacist-worklist")
    assert "Hospital pharmacist" in page.get_by_test_id("who").inner_text()


def test_wrong_password_shows_a_clear_message(site, page):
    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Username").fill("pharmacist")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    assert "Please enter a correct username and password" in page.get_by_role("alert").inner_text()
