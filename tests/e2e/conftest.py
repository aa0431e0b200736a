import os
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from atmp_clinic.accounts.demo import DEMO_PASSWORD, seed_second_factors
from atmp_clinic.accounts.models import User
from atmp_clinic.exemptions.models import ExemptionRequest
from tests.conftest import PROJECT_DIR, authenticator_code, require_service

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_DIR / "test-artifacts"


@pytest.fixture(scope="package")
def browser():
    """One chromium for the browser tests, closed after them (with the variable below unset)."""
    require_service("Debian's chromium", None if CHROMIUM.exists() else f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread for as long as the browser
    # lives; Django's ORM, used beside it by the tests and their teardown, would refuse to run.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def site(live_server, demo):
    """The demo, served, with its published authenticator; the stories make their own requests beside
    the demo's."""
    seed_second_factors()
    return live_server.url


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    """test-artifacts/<name>.png, which CI keeps; `name` may name a folder too."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


class Person:
    """One user in a browser context of their own, reading the pages in `language`: a language other
    than English is chosen with the switcher in the login page's header, as someone would whose
    browser asks for English."""

    def __init__(self, browser, site: str, username: str, language: str = "en"):
        self.site = site
        self.username = username
        self.language = language
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.goto(f"{site}/accounts/login/")
        if language != "en":
            switcher = self.page.locator("form.language-switcher")
            switcher.get_by_role("button", name=dict(settings.LANGUAGES)[language], exact=True).click()
            self.page.locator(f"html[lang={language}]").wait_for()
        self.page.get_by_label(self.t("Username")).fill(username)
        self.page.get_by_label(self.t("Password")).fill(DEMO_PASSWORD)
        self.page.get_by_role("button", name=self.t("Log in")).click()
        heading = self.page.get_by_role("heading", level=1)
        heading.wait_for()
        if heading.inner_text() == self.t("Enter your code"):
            self.page.get_by_label(self.t("Code")).fill(
                authenticator_code(User.objects.get(username=username))
            )
            self.page.get_by_role("button", name=self.t("Continue")).click()
            self.page.get_by_role("heading", level=1).filter(
                has_not_text=self.t("Enter your code")
            ).wait_for()

    def t(self, text: str) -> str:
        """The words as the pages show them in this person's language, from the project's catalogues."""
        with translation.override(self.language):
            return translation.gettext(text)

    def open(self, request: ExemptionRequest) -> None:
        self.page.goto(f"{self.site}/requests/{request.pk}/")

    def take(self, step: str, **fields) -> None:
        """Fill the step's form on the request page and send it; wait for the success message."""
        section = self.page.locator("section.step", has=self.page.get_by_role("heading", name=step))
        code = section.get_by_label(self.t("Authenticator code"), exact=True)
        if code.count():  # a signature, by someone with a second factor
            code.fill(authenticator_code(User.objects.get(username=self.username)))
        for label, value in fields.items():
            field = section.get_by_label(label, exact=True)
            if field.evaluate("e => e.tagName") == "SELECT":
                field.select_option(label=value)
            else:
                field.fill(value)
        section.get_by_role("button", name=step).click()
        self.page.get_by_text(self.t("%(step)s: done.") % {"step": step}).wait_for()

    def close(self) -> None:
        self.context.close()
