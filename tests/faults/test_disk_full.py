"""A full disk under MEDIA_ROOT: attaching a PDF to a request tells the pharmacist clearly that it
could not be saved, and leaves nothing half-saved (no attachment row, no partial file). The disk is
really full: a 1 MB tmpfs mounted for the test, filled up to a few kilobytes."""

import io
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import require_service

from .conftest import ERROR_PAGE, HTTP_TIMEOUT

FILLER = ".filler"


@pytest.fixture
def full_disk():
    """A 1 MB tmpfs, all but ~16 KB of it taken by a filler file; unmounted after the test."""
    mountpoint = Path(tempfile.mkdtemp(prefix="atmp-faults-media-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        mountpoint.rmdir()
        require_service("a tmpfs mount for a full disk (root)", (mounted.stderr or mounted.stdout).strip())
    try:
        with (mountpoint / FILLER).open("wb") as filler:
            try:
                while shutil.disk_usage(mountpoint).free > 16 * 1024:
                    filler.write(b"\0" * 4096)
                    filler.flush()
            except OSError:
                pass
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)
        shutil.rmtree(mountpoint, ignore_errors=True)


def pdf_of(size: int) -> bytes:
    """A valid one-page PDF of about `size` bytes (an uncompressed image stream makes it big)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    side = int((size / 3) ** 0.5) + 1
    pixels = os.urandom(side * side * 3)  # random pixels: no compression gains
    from PIL import Image

    image = Image.frombytes("RGB", (side, side), pixels)
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pageCompression=0)
    page.drawImage(ImageReader(image), 10, 10, width=400, height=400)
    page.showPage()
    page.save()
    return buffer.getvalue()


def test_an_upload_to_a_full_disk_is_refused_clearly_and_leaves_nothing(
    own_postgres, database, serve, own_redis, keys, full_disk
):
    app = serve(database_url=own_postgres.url(database), broker_url=own_redis.url, MEDIA_ROOT=str(full_disk))
    pharmacist = app.session("pharmacist", keys)
    drafts = pharmacist.get(f"{app.base}/requests/?state=draft", timeout=HTTP_TIMEOUT).text
    draft = re.search(r'href="/requests/(\d+)/"', drafts).group(1)
    page = pharmacist.get(f"{app.base}/requests/{draft}/", timeout=HTTP_TIMEOUT).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    before = own_postgres.execute(database, "SELECT count(*) FROM exemptions_attachment")[0][0]
    content = pdf_of(300 * 1024)
    assert len(content) > shutil.disk_usage(full_disk).free * 4

    response = pharmacist.post(
        f"{app.base}/requests/{draft}/attachments/",
        data={"csrfmiddlewaretoken": token, "description": "Potency assay validation"},
        files={"file": ("potency.pdf", content, "application/pdf")},
        timeout=HTTP_TIMEOUT,
        allow_redirects=False,
    )
    rows = own_postgres.execute(database, "SELECT count(*) FROM exemptions_attachment")[0][0] - before
    left = [str(p.relative_to(full_disk)) for p in full_disk.rglob("*") if p.is_file() and p.name != FILLER]
    problems = []
    if response.status_code == 500 or ERROR_PAGE in response.text:
        problems.append(
            f"answered {response.status_code} with the generic error page, not a message on the form"
        )
    elif response.status_code < 400 or "potency.pdf" in (response.headers.get("Location") or ""):
        problems.append(f"answered {response.status_code} as if the file were saved")
    elif not re.search(r"space|full|could not (be )?save|not saved|storage", response.text, re.I):
        problems.append(f"answered {response.status_code} without saying the file could not be saved")
    if rows:
        problems.append(f"{rows} attachment row(s) written")
    if left:
        problems.append(
            f"files left under MEDIA_ROOT: {left} ({[(full_disk / f).stat().st_size for f in left]} bytes)"
        )
    print(f"\nupload to a full disk: {response.status_code}; problems: {problems or 'none'}")
    assert not problems, "; ".join(problems)

    # With room again, the same upload goes through.
    (full_disk / FILLER).unlink()
    retry = pharmacist.post(
        f"{app.base}/requests/{draft}/attachments/",
        data={"csrfmiddlewaretoken": token, "description": "Potency assay validation"},
        files={"file": ("potency.pdf", content, "application/pdf")},
        timeout=HTTP_TIMEOUT,
        allow_redirects=False,
    )
    assert retry.status_code == 302, retry.status_code
