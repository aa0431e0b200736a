"""What the benchmarks share: the database they may touch, Django set-up, the fixed moment the
generated data is built around, and the machine description written to BENCHMARKS.md."""

import json
import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/atmp_clinic_bench"

# The data is generated around this moment and the dispatch is timed at it, so every run does the
# same work whatever the calendar says. 07:00 UTC: continental Europe is out of its quiet hours
# (08:00 local in winter), the British Isles and the Americas are still in theirs.
NOW = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def setup_django() -> str:
    """Point Django at the benchmark database (and refuse any other), then set it up. Returns the
    database URL."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atmp_clinic.settings")
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"The benchmarks need PostgreSQL; DATABASE_URL is {url!r}.")
    if not database_name(url).endswith("_bench"):
        sys.exit(
            f"Refusing to run against {database_name(url)!r}: the benchmarks drop and fill their database, "
            "so its name must end in _bench."
        )
    import django

    django.setup()
    return url


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB, from /proc (Linux)."""
    fields = dict(
        line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def reset_peak_rss() -> bool:
    """Start measuring the peak RSS afresh (Linux ≥ 4.0); False when the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def machine() -> dict[str, str]:
    from django.db import connection

    meminfo = Path("/proc/meminfo").read_text()
    ram_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    python = subprocess.run([sys.executable, "-V"], capture_output=True, text=True, check=True)
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu or platform.processor(),
        "ram": f"{ram_kb / 1024 / 1024:.1f} GiB",
        "python": (python.stdout or python.stderr).strip(),
        "postgresql": f"{pg_version.split()[0]} (shared_buffers {shared_buffers})",
        "os": f"{platform.system()} {platform.release()}",
    }


def write_section(title: str, body: str) -> None:
    """Replace the "## title" section of BENCHMARKS.md (or append it), keeping every other one."""
    header = (
        "# Benchmarks\n\n"
        "Speed figures of the platform at realistic volume, measured on demand against a separate\n"
        "PostgreSQL database whose name must end in `_bench` (the scripts refuse any other). They are\n"
        "never part of the test suite: tests check behaviour, these scripts measure time. Each\n"
        "section says how to run its benchmark and on which machine its figures were taken.\n"
    )
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else header
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    BENCHMARKS_MD.write_text(text)


def now_utc() -> datetime:
    return datetime.now(UTC)


def measured_on(box: dict[str, str], load: tuple[float, float]) -> str:
    """The closing line of a section: when, on what, and how busy the machine was before and after."""
    shared = f" (on {box['cores']} cores: other work shared the machine)" if max(load) > 0.5 else ""
    return (
        f"**Measured** {now_utc():%Y-%m-%d %H:%M} UTC on {box['cores']} cores ({box['cpu']}), {box['ram']} RAM, "
        f"{box['os']};\n{box['python']}; PostgreSQL {box['postgresql']} on the same machine; load average "
        f"{load[0]:.1f} before and\n{load[1]:.1f} after{shared}."
    )


def in_child(module: str, *args: str) -> dict:
    """One pass of a benchmark in a fresh interpreter, so that its peak RSS is the pass's own; the
    child prints its figures as JSON on its last line."""
    result = subprocess.run(
        [sys.executable, "-m", module, "--child", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    if result.returncode:
        raise SystemExit(f"{module} {' '.join(args)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])
