"""Patient data written under one SECRET_KEY stays readable after the key is rotated, as long as
the old key is kept in SECRET_KEY_FALLBACKS; without it, nothing decrypts."""

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_manage

OLD_KEY = "old-secret-key-for-the-rotation-test-0123456789-abcdefghijklmnop"
NEW_KEY = "new-secret-key-for-the-rotation-test-9876543210-zyxwvutsrqponmlk"

ENROL = """
from atmp_clinic.accounts.demo import seed_organisations_and_users
from atmp_clinic.accounts.models import User
from atmp_clinic.patients.services import patient_create
seed_organisations_and_users()
clinician = User.objects.get(username="clinician")
patient_create(actor=clinician, hospital=clinician.memberships.get().organisation, year_of_birth=1980,
               sex="female", given_name="Rotated", family_name="Key")
"""
READ = """
from atmp_clinic.patients.models import PatientIdentity
print("NAME:", PatientIdentity.objects.get().full_name)
"""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """An empty, migrated SQLite database, made once: migrating in a fresh interpreter takes most of
    a minute, and each test starts from a copy of it."""
    path = tmp_path_factory.mktemp("rotation") / "migrated.sqlite3"
    assert run_manage("migrate", env={"DATABASE_URL": f"sqlite:///{path}"}, timeout=300).returncode == 0
    return path


@pytest.fixture
def database(migrated, tmp_path) -> Path:
    return Path(shutil.copy(migrated, tmp_path / "rotation.sqlite3"))


def run(database: Path, script: str, **env):
    env = {"DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY_FALLBACKS": ""} | env
    return run_manage("shell", "-c", script, env=env)


def test_old_key_in_fallbacks_still_decrypts(database):
    assert run(database, ENROL, SECRET_KEY=OLD_KEY).returncode == 0
    rotated = run(database, READ, SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=OLD_KEY)
    assert "NAME: Rotated Key" in rotated.stdout


def test_without_the_old_key_nothing_decrypts(database):
    assert run(database, ENROL, SECRET_KEY=OLD_KEY).returncode == 0
    assert "NAME: Rotated Key" not in run(database, READ, SECRET_KEY=NEW_KEY).stdout
