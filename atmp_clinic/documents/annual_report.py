"""The annual hospital-exemption report (SPEC §6): what one hospital did under its exemptions in one
calendar year, for its national authority. The year is the one the records are dated in:
administrations given, visits due (by their protocol date), adverse events by onset, expedited
reports opened. Survival runs from each patient's first administration up to the end of the year.

The figures come from the dashboard's functions (registry.dashboards) applied to the hospital's
plans, and the survival image is the dashboard's (registry.charts), so the report and the dashboard
cannot disagree. Patients appear only by their pseudonymous code, never by their identity."""

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, KeepTogether, Paragraph, Spacer

from atmp_clinic.accounts.models import Organisation
from atmp_clinic.accounts.selectors import national_authority
from atmp_clinic.followup.models import FollowUpPlan
from atmp_clinic.manufacturing.models import Administration
from atmp_clinic.products.models import AtmpClass
from atmp_clinic.registry.dashboards import (
    GRADES,
    SCIENTIFIC_IMPORTS,
    Compliance,
    SurvivalSummary,
    TreatedTable,
    follow_up_compliance,
    survival_data,
    survival_summary,
    treated_by_class_and_hospital,
)
from atmp_clinic.registry.models import AdverseEvent, ExpeditedReport, Seriousness

from . import pdf
from .pdf import Built
from .selectors import plans_followed_between

IMAGE_WIDTH = 170 * mm  # A4 less its margins


# --- The figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductRow:
    product: str
    atmp_class: str  # the class's label
    patients: int
    administrations: int


@dataclass(frozen=True)
class GradeRow:
    grade: int
    events: int
    patients: int  # patients with at least one event of this grade
    serious: int


@dataclass(frozen=True)
class AdverseEvents:
    grades: list[GradeRow]
    total: int
    serious: int
    serious_reactions: int  # serious and possibly related: each owes the authority an expedited report
    patients: int
    by_seriousness: list[tuple[str, int]]  # (criterion label, serious events meeting it)


@dataclass(frozen=True)
class ExpeditedTimeliness:
    total: int
    on_time: int  # submitted by the due date
    late: int
    open_not_yet_due: int
    open_overdue: int


@dataclass(frozen=True)
class ExpeditedRow:
    patient: str  # pseudonymous code
    term: str
    grade: int
    opened_on: date
    due_on: date
    submitted_on: date | None
    timeliness: str


@dataclass(frozen=True)
class AnnualReport:
    hospital: Organisation
    authority: Organisation | None
    year: int
    as_of: date  # the last day counted: 31 December, or today while the year runs
    products: list[ProductRow]
    treated: TreatedTable  # patients given a product in the year, by class
    administrations: int
    patients_followed: int  # patients whose follow-up ran during the year
    compliance: Compliance  # visits due in the year
    adverse_events: AdverseEvents
    expedited: ExpeditedTimeliness
    expedited_reports: list[ExpeditedRow]
    survival_durations: list[int]
    survival_events: list[bool]
    survival: SurvivalSummary


def _compliance_in_year(plans: QuerySet[FollowUpPlan], *, year: int, as_of: date) -> Compliance:
    """Visits due in the year: the dashboard counts the visits due up to a day, so those due up to
    `as_of` less those due before 1 January are the year's."""
    up_to_end = follow_up_compliance(plans, as_of)[0]
    before = follow_up_compliance(plans, date(year, 1, 1) - timedelta(days=1))[0]
    return Compliance(
        hospital=up_to_end.hospital,
        due=up_to_end.due - before.due,
        done_in_window=up_to_end.done_in_window - before.done_in_window,
        done_late=up_to_end.done_late - before.done_late,
        missed=up_to_end.missed - before.missed,
    )


def _products(administrations: QuerySet[Administration]) -> list[ProductRow]:
    labels = dict(AtmpClass.choices)
    rows = (
        administrations.order_by()
        .values("request__product__name", "request__product__atmp_class")
        .annotate(patients=Count("patient", distinct=True), administrations=Count("pk"))
        .order_by("request__product__name")
    )
    return [
        ProductRow(
            product=row["request__product__name"],
            atmp_class=labels[row["request__product__atmp_class"]],
            patients=row["patients"],
            administrations=row["administrations"],
        )
        for row in rows
    ]


def _adverse_events(events: QuerySet[AdverseEvent]) -> AdverseEvents:
    counts = {}
    for grade in GRADES:
        counts[f"events_{grade}"] = Count("pk", filter=Q(grade=grade))
        counts[f"patients_{grade}"] = Count("patient", distinct=True, filter=Q(grade=grade))
        counts[f"serious_{grade}"] = Count("pk", filter=Q(grade=grade, serious=True))
    totals = events.aggregate(
        total=Count("pk"),
        serious_events=Count("pk", filter=Q(serious=True)),  # not "serious": the field's name
        serious_reactions=Count("expedited_report"),
        patients=Count("patient", distinct=True),
        **counts,
    )
    # Criteria are a JSON list, which SQLite cannot search: count them here, over serious events only.
    criteria = Counter(
        criterion
        for listed in events.filter(serious=True).values_list("seriousness", flat=True)
        for criterion in listed
    )
    return AdverseEvents(
        grades=[
            GradeRow(
                grade=grade,
                events=totals[f"events_{grade}"],
                patients=totals[f"patients_{grade}"],
                serious=totals[f"serious_{grade}"],
            )
            for grade in GRADES
        ],
        total=totals["total"],
        serious=totals["serious_events"],
        serious_reactions=totals["serious_reactions"],
        patients=totals["patients"],
        by_seriousness=[(label, criteria[code]) for code, label in Seriousness.choices],
    )


def _timeliness(report: ExpeditedReport, submitted_on: date | None, today: date) -> str:
    if submitted_on is not None:
        return _("On time") if submitted_on <= report.due_on else _("Late")
    return _("Open, overdue") if report.due_on < today else _("Open, not yet due")


def _expedited(
    reports: QuerySet[ExpeditedReport], *, today: date
) -> tuple[ExpeditedTimeliness, list[ExpeditedRow]]:
    """Timeliness as of today: a report opened in December may still be open when the report is made."""
    reports = reports.annotate(submitted_on=TruncDate("submitted_at"), opened_on=TruncDate("opened_at"))
    submitted = Q(submitted_at__isnull=False)
    totals = reports.aggregate(
        total=Count("pk"),
        on_time=Count("pk", filter=submitted & Q(submitted_on__lte=F("due_on"))),
        late=Count("pk", filter=submitted & Q(submitted_on__gt=F("due_on"))),
        open_not_yet_due=Count("pk", filter=~submitted & Q(due_on__gte=today)),
        open_overdue=Count("pk", filter=~submitted & Q(due_on__lt=today)),
    )
    rows = [
        ExpeditedRow(
            patient=report.adverse_event.patient.pseudonym,
            term=report.adverse_event.term,
            grade=report.adverse_event.grade,
            opened_on=report.opened_on,
            due_on=report.due_on,
            submitted_on=report.submitted_on,
            timeliness=_timeliness(report, report.submitted_on, today),
        )
        for report in reports.select_related("adverse_event__patient").order_by("opened_at", "pk")
    ]
    return ExpeditedTimeliness(**totals), rows


def annual_report(*, hospital: Organisation, year: int, today: date) -> AnnualReport:
    """The report's figures for one hospital and one calendar year, as they stand `today`."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    as_of = min(end, today)
    plans = FollowUpPlan.objects.filter(patient__hospital=hospital)
    administrations = Administration.objects.filter(patient__hospital=hospital, administered_at__year=year)
    followed = plans_followed_between(plans, start, as_of)
    durations, events = survival_data(plans.filter(starts_on__lte=as_of), as_of)
    expedited, expedited_rows = _expedited(
        ExpeditedReport.objects.filter(hospital=hospital, opened_at__year=year), today=today
    )
    return AnnualReport(
        hospital=hospital,
        authority=national_authority(country=hospital.country),
        year=year,
        as_of=as_of,
        products=_products(administrations),
        treated=treated_by_class_and_hospital(plans.filter(administration__administered_at__year=year)),
        administrations=administrations.count(),
        patients_followed=followed.values("patient").distinct().count(),
        compliance=_compliance_in_year(plans, year=year, as_of=as_of),
        adverse_events=_adverse_events(
            AdverseEvent.objects.filter(patient__hospital=hospital, onset_on__year=year)
        ),
        expedited=expedited,
        expedited_reports=expedited_rows,
        survival_durations=durations,
        survival_events=events,
        survival=survival_summary(durations, events),
    )


# --- The document ----------------------------------------------------------------------------------


def title(hospital: Organisation, year: int) -> str:
    return _("Annual hospital-exemption report %(year)s — %(hospital)s") % {
        "year": year,
        "hospital": hospital.name,
    }


def _percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{round(100 * ratio)} %"


def _survival_image(report: AnnualReport) -> Image:
    with SCIENTIFIC_IMPORTS:
        from atmp_clinic.registry.charts import kaplan_meier_png

    png = io.BytesIO(kaplan_meier_png(report.survival_durations, report.survival_events))
    image = Image(png)
    image.drawHeight = IMAGE_WIDTH * image.imageHeight / image.imageWidth
    image.drawWidth = IMAGE_WIDTH
    return image


def _note(value: str, style: pdf.Styles) -> list[Flowable]:
    return [Spacer(1, 1.5 * mm), Paragraph(pdf.text(value), style.small)]


def _date(value: date) -> str:
    return f"{value:%-d %B %Y}"


def _treated_section(report: AnnualReport, style: pdf.Styles) -> list[Flowable]:
    products, treated = report.products, report.treated
    return [
        Paragraph(pdf.text(_("Patients treated")), style.heading),
        pdf.key_values(
            [
                (_("Administrations in the year"), report.administrations),
                (_("Patients under follow-up in the year"), report.patients_followed),
            ],
            style=style,
        ),
        pdf.table(
            [_("Product"), _("ATMP class"), _("Patients treated"), _("Administrations")],
            [[row.product, row.atmp_class, row.patients, row.administrations] for row in products]
            + [[_("All products"), "", treated.total, sum(row.administrations for row in products)]],
            style=style,
            widths=[50 * mm, 50 * mm, 35 * mm, 35 * mm],
        ),
        Spacer(1, 3 * mm),
        pdf.table(
            [_("ATMP class"), _("Patients treated")],
            [
                [label, count]
                for (_code, label), count in zip(treated.classes, treated.class_totals, strict=True)
            ],
            style=style,
            widths=[120 * mm, 50 * mm],
        ),
        *_note(
            _("A patient given products of two classes counts in each, and once among all products."), style
        ),
    ]


def _compliance_section(report: AnnualReport, style: pdf.Styles) -> list[Flowable]:
    compliance = report.compliance
    not_recorded = compliance.due - compliance.done_in_window - compliance.done_late - compliance.missed
    return [
        Paragraph(pdf.text(_("Follow-up compliance")), style.heading),
        pdf.table(
            [
                _("Visits due"),
                _("Done in window"),
                _("Done outside window"),
                _("Missed"),
                _("Not recorded yet"),
                _("Compliance"),
            ],
            [
                [
                    compliance.due,
                    compliance.done_in_window,
                    compliance.done_late,
                    compliance.missed,
                    not_recorded,
                    _percent(compliance.ratio),
                ]
            ],
            style=style,
        ),
        *_note(
            _(
                "Compliance is visits done in their window over visits due; a visit is due on its protocol "
                "date even when its appointment was moved; cancelled visits are not due."
            ),
            style,
        ),
    ]


def _adverse_events_section(report: AnnualReport, style: pdf.Styles) -> list[Flowable]:
    events = report.adverse_events
    return [
        Paragraph(pdf.text(_("Adverse events")), style.heading),
        pdf.key_values(
            [
                (_("Adverse events"), events.total),
                (_("Patients with an adverse event"), events.patients),
                (_("Serious adverse events"), events.serious),
                (_("Serious adverse reactions"), events.serious_reactions),
            ],
            style=style,
        ),
        pdf.table(
            [_("Grade (CTCAE / ASTCT)"), _("Events"), _("Patients"), _("Serious")],
            [
                [_("Grade %(grade)s") % {"grade": row.grade}, row.events, row.patients, row.serious]
                for row in events.grades
            ]
            + [[_("All grades"), events.total, events.patients, events.serious]],
            style=style,
            widths=[70 * mm, 33 * mm, 33 * mm, 34 * mm],
        ),
        Spacer(1, 3 * mm),
        pdf.table(
            [_("Seriousness criterion"), _("Serious events")],
            [[label, count] for label, count in events.by_seriousness],
            style=style,
            widths=[120 * mm, 50 * mm],
        ),
        *_note(_("A serious event may meet several criteria."), style),
    ]


def _expedited_section(report: AnnualReport, style: pdf.Styles) -> list[Flowable]:
    expedited = report.expedited
    story = [
        Paragraph(pdf.text(_("Expedited reports")), style.heading),
        pdf.table(
            [
                _("Opened"),
                _("Submitted on time"),
                _("Submitted late"),
                _("Open, not yet due"),
                _("Open, overdue"),
            ],
            [
                [
                    expedited.total,
                    expedited.on_time,
                    expedited.late,
                    expedited.open_not_yet_due,
                    expedited.open_overdue,
                ]
            ],
            style=style,
        ),
    ]
    if report.expedited_reports:
        story += [
            Spacer(1, 3 * mm),
            pdf.table(
                [
                    _("Patient"),
                    _("Event"),
                    _("Grade"),
                    _("Opened"),
                    _("Due"),
                    _("Submitted"),
                    _("Timeliness"),
                ],
                [
                    [
                        row.patient,
                        row.term,
                        row.grade,
                        f"{row.opened_on:%Y-%m-%d}",
                        f"{row.due_on:%Y-%m-%d}",
                        f"{row.submitted_on:%Y-%m-%d}" if row.submitted_on else "—",
                        row.timeliness,
                    ]
                    for row in report.expedited_reports
                ],
                style=style,
                widths=[32 * mm, 28 * mm, 15 * mm, 23 * mm, 23 * mm, 23 * mm, 26 * mm],
            ),
        ]
    return story


def _survival_section(report: AnnualReport, style: pdf.Styles) -> list[Flowable]:
    survival = report.survival
    story = [
        KeepTogether(
            [
                Paragraph(pdf.text(_("Overall survival")), style.heading),
                pdf.key_values(
                    [
                        (
                            _("Patients treated up to %(day)s") % {"day": _date(report.as_of)},
                            survival.patients,
                        ),
                        (_("Deaths"), survival.deaths),
                    ],
                    style=style,
                ),
                _survival_image(report),
            ]
        ),
        *_note(
            _(
                # xgettext:no-python-format
                "Kaplan–Meier estimate from each patient's first administration, with its 95 % confidence band."
            ),
            style,
        ),
    ]
    if survival.estimates:
        story += [
            Spacer(1, 3 * mm),
            pdf.table(
                [
                    _("Months"),
                    _("Survival"),
                    # xgettext:no-python-format
                    _("95 % confidence interval"),
                ],
                [
                    [
                        estimate.months,
                        _percent(estimate.survival),
                        f"{_percent(estimate.lower)} – {_percent(estimate.upper)}",
                    ]
                    for estimate in survival.estimates
                ],
                style=style,
                widths=[40 * mm, 40 * mm, 90 * mm],
            ),
        ]
    return story


def _opening_section(report: AnnualReport, style: pdf.Styles) -> list[Flowable]:
    hospital = report.hospital
    return [
        Paragraph(
            pdf.text(_("Annual hospital-exemption report %(year)s") % {"year": report.year}), style.title
        ),
        pdf.key_values(
            [
                (_("Hospital"), f"{hospital.name} ({hospital.get_country_display()})"),
                (_("Manufacturing authorisation"), hospital.manufacturing_authorisation_number),
                (_("Competent authority"), report.authority.name if report.authority else "—"),
                (_("Period"), f"{_date(date(report.year, 1, 1))} – {_date(report.as_of)}"),
                (_("Figures as they stood on"), _date(timezone.localdate())),
            ],
            style=style,
        ),
        *_note(
            _(
                "Records count in the year they are dated in: administrations by their date, visits by their "
                "protocol due date, adverse events by onset, expedited reports by the day they were opened. "
                "Patients are named only by their pseudonymous code."
            ),
            style,
        ),
    ]


# The document's sections in order; with the figures before them and the rendering after, the
# steps a build reports (BUILD_STEPS), so a long build can show how far it got.
SECTIONS = (
    _opening_section,
    _treated_section,
    _compliance_section,
    _adverse_events_section,
    _expedited_section,
    _survival_section,
)
BUILD_STEPS = len(SECTIONS) + 2


def build(hospital: Organisation, year: int, *, progress: Callable[[int, int], None] | None = None) -> Built:
    """The report as the records stand today; `progress(done, BUILD_STEPS)` is told after each step."""
    report = annual_report(hospital=hospital, year=year, today=timezone.localdate())
    if progress:
        progress(1, BUILD_STEPS)
    style, story = pdf.styles(), []
    for step, section in enumerate(SECTIONS, start=2):
        story += section(report, style)
        if progress:
            progress(step, BUILD_STEPS)
    document_title = title(hospital, year)
    built = Built(
        pdf=pdf.render(
            story,
            title=document_title,
            author=hospital.name,
            subject=_("Annual report to %(authority)s")
            % {"authority": report.authority.name if report.authority else _("the competent authority")},
            reference=document_title,
        ),
        title=document_title,
        filename=f"annual-report-{year}-hospital-{hospital.pk}.pdf",
    )
    if progress:
        progress(BUILD_STEPS, BUILD_STEPS)
    return built
