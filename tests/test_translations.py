"""The shipped catalogues are complete and compiled, and the pages speak the language chosen.

The .po files are read with the small parser below (no gettext library is a dependency of the project);
the .mo files with the standard library's gettext, as Django reads them."""

import ast
import gettext
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from atmp_clinic.accounts.models import User
from atmp_clinic.followup.reminder_texts import reminder_email
from tests.conftest import log_in, require_service
from tests.factories import HospitalFactory, member
from tests.followup.test_reminder_texts import make_visit

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
# %(name)s, %d, %% and {name} / {0}: what must come through a translation unchanged.
PERCENT_PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
BRACE_PLACEHOLDER = re.compile(r"(?<!\{)\{[A-Za-z_0-9]*(?:[.:!][^{}]*)?\}(?!\})")


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def read_po(path: Path) -> list[Entry]:
    """The catalogue's live entries (obsolete #~ ones aside), header included as the first."""
    entries, entry, key = [], Entry(), None

    def finish():
        nonlocal entry, key
        if key is not None:
            entries.append(entry)
        entry, key = Entry(), None

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            finish()
        elif line.startswith("#,"):
            if key is not None:
                finish()
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            if key is not None and not line.startswith("#~"):
                finish()
        elif line.startswith('"'):
            text = ast.literal_eval(line)
            if isinstance(key, int):
                entry.msgstr[key] += text
            else:
                setattr(entry, key, getattr(entry, key) + text)
        else:
            keyword, _, quoted = line.partition(" ")
            text = ast.literal_eval(quoted)
            if keyword.startswith("msgstr"):
                key = int(keyword[7:-1]) if keyword != "msgstr" else 0
                entry.msgstr[key] = text
            else:
                key = keyword
                setattr(entry, key, text)
    finish()
    return entries


def catalogue(language: str) -> list[Entry]:
    return read_po(LOCALE_DIR / language / "LC_MESSAGES" / "django.po")


def placeholders(text: str, flags: set[str]) -> list[str]:
    """Marked no-python-format, a "%" is a percentage ("95 % confidence"), not a placeholder."""
    percent = [] if "no-python-format" in flags else PERCENT_PLACEHOLDER.findall(text)
    return sorted(percent + BRACE_PLACEHOLDER.findall(text))


def label(entry: Entry) -> str:
    return f"{entry.msgctxt}|{entry.msgid}" if entry.msgctxt else entry.msgid


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    entries = catalogue(language)[1:]
    untranslated = [label(e) for e in entries if not all(e.msgstr.values()) or not e.msgstr]
    fuzzy = [label(e) for e in entries if "fuzzy" in e.flags]
    assert len(entries) > 50
    assert not untranslated, f"{len(untranslated)} untranslated in {language}: {untranslated[:20]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {language}: {fuzzy[:20]}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_translation_keeps_the_placeholders_of_its_message(language):
    wrong = []
    for entry in catalogue(language)[1:]:
        for index, translated in entry.msgstr.items():
            source = entry.msgid_plural if index and entry.msgid_plural else entry.msgid
            if placeholders(source, entry.flags) != placeholders(translated, entry.flags):
                wrong.append(f"{label(entry)} [{index}]: {translated}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_is_the_po_file_as_it_stands(language):
    """compilemessages was run after the last change to the .po file."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog
    expected = {}
    for entry in catalogue(language)[1:]:
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt is not None else entry.msgid
        if entry.msgid_plural is not None:
            expected.update({(key, index): text for index, text in entry.msgstr.items()})
        else:
            expected[key] = entry.msgstr[0]
    compiled.pop("", None)
    assert compiled == expected


# --- The pages in the chosen language -------------------------------------------------------------


@pytest.fixture
def clinician(db):
    return member(role="clinician", organisation=HospitalFactory())


def test_a_page_asked_for_in_german_is_german(client, clinician):
    client.force_login(clinician)
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de")
    page = response.content.decode()
    assert '<html lang="de">' in page
    assert "Arbeitsliste" in page
    assert "Abmelden" in page


def test_a_reviewers_capabilities_are_named_in_the_page_language(client, demo):
    log_in(client, User.objects.get(username="reviewer"))  # the demo's validator
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "(validateur)" in page and "(validator)" not in page


def test_a_review_clocks_phase_is_named_in_the_page_language(client, demo):
    log_in(client, User.objects.get(username="reviewer"))  # the demo has a request to validate
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "(Validierung, Tag " in page and "(validation, " not in page


def test_the_trail_search_names_record_types_in_the_page_language(client, demo):
    log_in(client, User.objects.get(username="reviewer"))
    page = client.get(reverse("audit-search"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Nachsorgevisite" in page and "Follow up visit" not in page


def test_a_page_without_a_choice_stays_english(client, clinician):
    client.force_login(clinician)
    page = client.get(reverse("home")).content.decode()
    assert '<html lang="en">' in page
    assert "Worklist" in page


@pytest.mark.parametrize("language", ["en", "de", "fr"])
def test_the_switcher_names_each_language_in_itself(client, language):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for name in ("English", "Deutsch", "Español", "Français"):
        assert f">{name}</button>" in page


def test_the_switcher_changes_the_language_and_keeps_it_on_the_account(client, clinician):
    client.force_login(clinician)
    response = client.post(reverse("set_language"), {"language": "fr", "next": reverse("home")})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    clinician.refresh_from_db()
    assert clinician.language == "fr"
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)  # another browser: only the account remembers
    assert "Se déconnecter" in client.get(reverse("home")).content.decode()


def test_the_switcher_works_before_logging_in(client):
    response = client.post(reverse("set_language"), {"language": "es", "next": reverse("login")}, follow=True)
    assert "Idioma" in response.content.decode()


def test_a_language_the_platform_does_not_speak_is_not_kept(client, clinician):
    client.force_login(clinician)
    client.post(reverse("set_language"), {"language": "it", "next": reverse("home")})
    clinician.refresh_from_db()
    assert clinician.language == ""


def test_the_account_language_outranks_the_browser(client, clinician):
    clinician.language = "es"
    clinician.save(update_fields=["language"])
    client.force_login(clinician)
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="es">' in page


def test_a_patient_reminder_keeps_the_patients_language_whatever_the_pages():
    """A clinician reading the pages in German must not have a French patient written to in German."""
    with translation.override("de"):
        subject, _body = reminder_email(make_visit(), days_before=14, language="fr")
    assert subject.startswith("Rappel")


# --- The catalogues hold every message the sources mark ------------------------------------------


def test_the_catalogues_hold_every_message_the_sources_mark(tmp_path, monkeypatch, settings):
    """makemessages, run on the sources into an empty folder, finds no message the shipped catalogues
    lack and none they hold in vain: run it into locale/ (README) after marking a new message."""
    require_service("xgettext", None if shutil.which("xgettext") else "GNU gettext is not installed")
    for folder in ("atmp_clinic", "templates"):
        (tmp_path / folder).symlink_to(Path(settings.BASE_DIR) / folder)
    (tmp_path / "locale").mkdir()
    # Run from the copy, so that makemessages writes into its empty locale/ and never into the shipped one.
    monkeypatch.chdir(tmp_path)
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    call_command("makemessages", locale=[TRANSLATED[0]], symlinks=True, no_obsolete=True, verbosity=0)
    extracted = {
        label(entry)
        for entry in read_po(tmp_path / "locale" / TRANSLATED[0] / "LC_MESSAGES" / "django.po")[1:]
    }
    for language in TRANSLATED:
        shipped = {label(entry) for entry in catalogue(language)[1:]}
        assert not extracted - shipped, f"not in the {language} catalogue: {sorted(extracted - shipped)[:20]}"
        assert not shipped - extracted, (
            f"no longer in the sources, in {language}: {sorted(shipped - extracted)[:20]}"
        )
