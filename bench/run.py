"""`make bench` (issue 9): every benchmark, one after the other, from an empty database, each
rewriting its own section of BENCHMARKS.md; then the time each step took, and the whole, into the
"make bench (issue 9)" section.

    .venv/bin/python -m bench.run            # make bench
    .venv/bin/python -m bench.run --no-load  # leave out the 50-person load run (≈ 4 min)

A step that fails stops the run (its section keeps the previous figures); the others' sections are
already written."""

import argparse
import os
import subprocess
import sys
import time

from bench.common import ROOT, now_utc, setup_django, write_section

SECTION = "make bench (issue 9)"
STEPS = [
    ("generate the data", ["bench.generate"]),
    ("worklists under 8 clients", ["bench.worklists"]),
    ("reminder dispatch and sending", ["bench.reminders"]),
    ("plan generation", ["bench.plans"]),
    ("registry CSV export", ["bench.registry_export"]),
    ("FHIR NDJSON export", ["bench.fhir"]),
    ("documents", ["bench.documents"]),
    ("load, 50 people (its own database)", ["bench.load", "--duration", "150"]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-load", action="store_true", help="leave out bench.load")
    args = parser.parse_args()
    steps = STEPS[:-1] if args.no_load else STEPS
    started_at, started, load_before = now_utc(), time.perf_counter(), os.getloadavg()[0]
    took = []
    for name, module in steps:
        print(f"=== {name}: python -m {' '.join(module)}", flush=True)
        step_started = time.perf_counter()
        subprocess.run([sys.executable, "-m", *module], cwd=ROOT, env=os.environ.copy(), check=True)
        took.append((name, module, time.perf_counter() - step_started))
    total = time.perf_counter() - started
    load = (load_before, os.getloadavg()[0])
    setup_django()
    from bench.common import machine

    box = machine()
    shared = f" (on {box['cores']} cores: other work shared the machine)" if max(load) > 0.5 else ""
    rows = "\n".join(
        f"| {name} | `python -m {' '.join(module)}` | {seconds:,.0f} s |" for name, module, seconds in took
    )
    body = f"""
`make bench` runs every benchmark from nothing: it drops and fills `atmp_clinic_bench`, then each
step rewrites its section of this file (each states its machine and date). Run {started_at:%Y-%m-%d %H:%M} UTC
on {box["cores"]} cores ({box["cpu"]}), {box["ram"]} RAM, {box["os"]}; PostgreSQL {box["postgresql"]}
and Redis on the same machine; load average {load[0]:.1f} at the start and {load[1]:.1f} at the end{shared}.

| step | command | took |
|---|---|---:|
{rows}
| **all** | `make bench` | **{total:,.0f} s ({total / 60:.1f} min)** |

`make bench-load` (and every other step's target) runs one step alone; `python -m bench.run --no-load`
leaves the load run out.
"""
    write_section(SECTION, body)
    print(f"make bench: {total:.0f} s ({total / 60:.1f} min)")


if __name__ == "__main__":
    main()
