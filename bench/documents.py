"""Time the building of each PDF (issue 7) against the database bench.generate filled, and write
the figures to the "Documents (issue 7)" section of BENCHMARKS.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/atmp_clinic_bench .venv/bin/python -m bench.documents

The annual report is built for the hospital with the most patients, topped up to PATIENTS with
patients of the other hospitals of its country, for the last full year before bench.common.NOW.
bench.generate's adverse events spread over 15 years and 50 hospitals, so this script adds the year's
own, all inside a transaction rolled back at the end (the database is left as it was): per patient
of that hospital EVENTS_PER_PATIENT events in the year, SERIOUS_SHARE of them serious reactions, each with its
expedited report, submitted on time, late, or left open. The other documents are built for one
record each. One warm-up, then the median of --runs builds; rendering is in-process (no HTTP)."""

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock

from bench.common import NOW, database_name, machine, now_utc, setup_django

SECTION = "Documents (issue 7)"
PATIENTS = 1000  # the annual report's hospital, as the issue sizes it
EVENTS_PER_PATIENT = 2
SERIOUS_SHARE = 0.1
TERMS = ["Pyrexia", "Neutropenia", "Cytokine release syndrome", "Hypogammaglobulinaemia", "Fatigue"]


def busiest_hospital():
    from django.db.models import Count

    from atmp_clinic.accounts.models import Organisation

    return (
        Organisation.objects.filter(kind=Organisation.Kind.HOSPITAL)
        .annotate(patient_count=Count("patients"))
        .order_by("-patient_count", "pk")
        .first()
    )


def top_up(hospital, patients: int) -> int:
    """Move patients (with their plans and records) from the other hospitals of its country to the
    hospital until it has `patients`: the generator spreads 20,000 over 50 hospitals."""
    from atmp_clinic.patients.models import Patient

    movers = list(
        Patient.objects.filter(hospital__country=hospital.country)
        .exclude(hospital=hospital)
        .order_by("pk")
        .values_list("pk", flat=True)[: max(0, patients - hospital.patient_count)]
    )
    Patient.objects.filter(pk__in=movers).update(hospital=hospital)
    return len(movers)


def add_adverse_events(hospital, year: int) -> dict[str, int]:
    """The year's adverse events and expedited reports, as the registry services would write them."""
    from django.utils import timezone

    from atmp_clinic.accounts.models import User
    from atmp_clinic.followup.models import FollowUpPlan
    from atmp_clinic.registry.models import AdverseEvent, ExpeditedReport

    rng = random.Random(7)
    recorder = User.objects.order_by("pk").first()
    plans = list(
        FollowUpPlan.objects.filter(patient__hospital=hospital, starts_on__lte=date(year, 12, 31))
        .select_related("administration__request")
        .order_by("pk")
    )
    events, serious = [], []
    for plan in plans:
        first_day = max(plan.starts_on, date(year, 1, 1))
        span = (date(year, 12, 31) - first_day).days
        if span < 0:
            continue
        for _ in range(EVENTS_PER_PATIENT):
            onset = first_day + timedelta(days=rng.randint(0, span))
            is_serious = rng.random() < SERIOUS_SHARE
            grade = rng.choice([3, 4]) if is_serious else rng.choice([1, 1, 2, 2, 3])
            event = AdverseEvent(
                plan=plan, patient_id=plan.patient_id, term=rng.choice(TERMS), onset_on=onset, grade=grade,
                serious=is_serious, seriousness=["hospitalisation"] if is_serious else [],
                relatedness="probable" if is_serious else "not_related", outcome="recovered",
                recorded_by=recorder, recorded_at=timezone.make_aware(datetime.combine(onset, clock(12))),
            )  # fmt: skip
            events.append(event)
            if is_serious:
                serious.append((event, plan.administration.request.authority_id))
    AdverseEvent.objects.bulk_create(events, batch_size=2000)
    reports = []
    for event, authority_id in serious:
        submitted = rng.choice([1, 10, None])  # days after opening: on time, late, still open
        report = ExpeditedReport(
            adverse_event=event, hospital=hospital, authority_id=authority_id,
            due_on=event.onset_on + timedelta(days=7), opened_at=event.recorded_at,
            status="open" if submitted is None else "submitted",
            submitted_at=None if submitted is None else event.recorded_at + timedelta(days=submitted),
            submitted_by=None if submitted is None else recorder,
        )  # fmt: skip
        reports.append(report)
    ExpeditedReport.objects.bulk_create(reports, batch_size=2000)
    return {"plans": len(plans), "adverse events": len(events), "expedited reports": len(reports)}


def timed(build: Callable, runs: int) -> dict:
    build()  # warm-up: imports (matplotlib, lifelines), fonts, query plans
    seconds, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        size = len(build().pdf)
        seconds.append(time.perf_counter() - started)
    return {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds), "bytes": size}


FLOOR = "floor: one paragraph through documents.pdf.render"


def floor_document() -> bytes:
    """The least a PDF of ours costs: one paragraph on one page through the same renderer (fonts,
    metadata, numbered footer), no query."""
    from reportlab.platypus import Paragraph

    from atmp_clinic.documents import pdf

    story = [Paragraph("ATMP Clinic", pdf.styles().body)]
    return pdf.render(story, title="Floor", author="ATMP Clinic", subject="Floor", reference="FLOOR")


def documents(hospital, year: int) -> dict[str, Callable]:
    """Each builder with one record of the bench database, after the floor."""
    from types import SimpleNamespace

    from atmp_clinic.documents import (
        annual_report,
        batch_certificate,
        decision_letter,
        dossier,
        visit_schedule,
    )
    from atmp_clinic.exemptions.models import Decision, ExemptionRequest
    from atmp_clinic.followup.models import FollowUpPlan
    from atmp_clinic.manufacturing.models import Batch

    builders = {
        FLOOR: lambda: SimpleNamespace(pdf=floor_document()),
        f"annual report ({hospital.patient_count} patients)": lambda: annual_report.build(hospital, year),
    }
    records = {
        "request dossier": (dossier, ExemptionRequest.objects.filter(submitted_at__isnull=False).first()),
        "decision letter": (decision_letter, Decision.objects.first()),
        "batch release certificate": (batch_certificate, Batch.objects.filter(released_at__isnull=False).first()),
        "visit schedule letter": (visit_schedule, FollowUpPlan.objects.filter(status="active").first()),
    }  # fmt: skip
    for name, (module, record) in records.items():
        builders[name] = lambda build=module.build, record=record: build(record)
    return builders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    url = setup_django()
    from django.db import transaction

    year = NOW.year - 1
    results, failures = {}, {}
    load_before = os.getloadavg()[0]
    with transaction.atomic():
        moved = top_up(busiest_hospital(), PATIENTS)
        hospital = busiest_hospital()
        added = add_adverse_events(hospital, year)
        for name, build in documents(hospital, year).items():
            try:
                results[name] = timed(build, args.runs)
            except Exception as exc:  # one broken builder must not hide the others' figures
                failures[name] = f"{type(exc).__name__}: {exc}"
            print(name, results.get(name) or failures[name], flush=True)
        transaction.set_rollback(True)

    load = (load_before, os.getloadavg()[0])
    about = machine()
    lines = [
        "How long building each PDF takes (ReportLab, in-process, no HTTP), median of "
        f"{args.runs} builds after one warm-up, against `{database_name(url)}`.",
        "",
        "    DATABASE_URL=postgres://postgres@127.0.0.1:5432/atmp_clinic_bench .venv/bin/python -m bench.documents",
        "",
        f"Annual report: {hospital.name}, the hospital with the most patients, topped up to "
        f"{hospital.patient_count:,} with {moved} patients of its country's other hospitals, year {year}; "
        f"{added['plans']:,} plans, with {added['adverse events']:,} adverse events and "
        f"{added['expedited reports']:,} expedited reports added to those bench.generate wrote. All of it in a "
        "transaction rolled back afterwards: the database is left as it was.",
        "",
        "The floor (issue 9) is one paragraph on one page through the same renderer (`documents.pdf.render`:",
        "fonts, metadata, numbered footer) and no query: each document's median is also given as a multiple",
        "of it.",
        "",
        "| document | median | / floor | min | max | size |",
        "|---|---|---|---|---|---|",
    ]
    floor = results.get(FLOOR, {}).get("median")
    for name, figures in results.items():
        times = f"{figures['median'] / floor:.0f}×" if floor else "–"
        lines.append(
            f"| {name} | {figures['median'] * 1000:.1f} ms | {times} | {figures['min'] * 1000:.1f} ms | "
            f"{figures['max'] * 1000:.1f} ms | {figures['bytes'] / 1024:.0f} KiB |"
        )
    for name, problem in failures.items():
        lines.append(f"| {name} | failed: {problem} | | | | |")
    lines += [
        "",
        f"Measured {now_utc():%Y-%m-%d %H:%M} UTC on "
        + ", ".join(f"{k} {v}" for k, v in about.items())
        + f"; load average {load[0]:.1f} before and {load[1]:.1f} after"
        + (f" (on {about['cores']} cores: other work shared the machine)." if max(load) > 0.5 else "."),
    ]
    from bench.common import write_section

    write_section(SECTION, "\n".join(lines))


if __name__ == "__main__":
    main()
