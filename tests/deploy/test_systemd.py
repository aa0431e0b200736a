"""deploy/systemd: systemd's own checker over every unit the target starts, and the order of start."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR, require_service
from tests.deploy import manifests

INSTALL_DIR = "/opt/atmp-clinic"  # where deploy/README.md has the checkout; the units name it
MIGRATE = "atmp-clinic-migrate.service"


def install_units(directory: Path) -> None:
    """The units and their drop-in folders (atmp-clinic-worker@default.service.d/), as `cp -r` installs them."""
    for path in manifests.SYSTEMD_DIR.rglob("*"):
        if path.is_file():
            installed = directory / path.relative_to(manifests.SYSTEMD_DIR)
            installed.parent.mkdir(exist_ok=True)
            installed.write_text(path.read_text().replace(INSTALL_DIR, str(PROJECT_DIR)))


def test_systemd_analyze_verify_finds_nothing(tmp_path):
    """systemd-analyze verify reports unknown keys, bad values and missing executables. The units are
    checked as installed from this checkout, so that their ExecStart= names this .venv's binaries."""
    analyze = shutil.which("systemd-analyze")
    require_service("systemd-analyze (Debian's systemd)", None if analyze else "it is not on the PATH")
    install_units(tmp_path)
    units = [manifests.SYSTEMD_TARGET.name, *manifests.systemd_started_units()]
    done = subprocess.run(
        [analyze, "verify", *units], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_checker_reports_a_misspelt_key(tmp_path):
    analyze = shutil.which("systemd-analyze")
    require_service("systemd-analyze (Debian's systemd)", None if analyze else "it is not on the PATH")
    unit = tmp_path / "atmp-clinic-beat.service"
    text = (manifests.SYSTEMD_DIR / unit.name).read_text().replace(INSTALL_DIR, str(PROJECT_DIR))
    unit.write_text(text.replace("RestartSec=", "RestartSecs="))
    done = subprocess.run(
        [analyze, "verify", unit.name], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert "Unknown key 'RestartSecs'" in done.stderr


@pytest.mark.parametrize("unit", [u for u in manifests.systemd_started_units() if u != MIGRATE])
def test_each_process_starts_after_the_migrations(unit):
    section = manifests.systemd_unit(manifests.systemd_unit_file(unit))["Unit"]
    assert MIGRATE in section["Requires"].split() and MIGRATE in section["After"].split()


def test_the_web_unit_listens_on_loopback_only():
    environment = manifests.systemd_unit(manifests.SYSTEMD_DIR / "atmp-clinic-web.service")["Service"][
        "Environment"
    ]
    assert "GUNICORN_BIND=127.0.0.1:8000" in environment.split()
