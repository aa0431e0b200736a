"""The dashboard's figures as PNG images, for its page and for the annual report.

Figures are built on matplotlib's object API (Figure + Agg canvas), never pyplot's global state, so
two requests drawing at once in one process cannot draw on each other's figure. Text uses DejaVu
Sans, which matplotlib ships, so a server without system fonts draws the same image."""

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # lifelines imports pyplot: make sure it never looks for a display

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from lifelines import KaplanMeierFitter
from lifelines.plotting import add_at_risk_counts
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .dashboards import DAYS_PER_MONTH

NO_DATA = gettext_lazy("No patients yet")
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
WIDTH_INCHES, HEIGHT_INCHES, DPI = 8, 5, 100
LINE_COLOUR = "#1f4e79"
CI_ALPHA = 0.25
BAR_COLOURS = ["#9ecae1", "#6baed6", "#fd8d3c", "#e6550d", "#a63603"]  # grade 1 (mild) to 5 (fatal)


def _png(figure: Figure, title: str) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    # The title in the file too, in the language it is drawn in, for whoever reads the image's text.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None, "Title": str(title)})
    return buffer.getvalue()


def _figure() -> Figure:
    return Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")


def _no_data(title: str, message: str = NO_DATA) -> bytes:
    with matplotlib.rc_context(STYLE):
        figure = _figure()
        ax = figure.add_subplot()
        ax.set_axis_off()
        ax.set_title(title, loc="left", fontweight="bold")
        ax.text(0.5, 0.5, str(message), ha="center", va="center", fontsize=14, color="#555555")
        return _png(figure, title)


def kaplan_meier_png(durations: Sequence[float], events: Sequence[bool]) -> bytes:
    """Kaplan–Meier overall survival with its 95 % confidence band (Greenwood, log-log, as lifelines
    computes it), time in months from the first administration, patients at risk underneath."""
    title = _("Overall survival")
    if len(durations) == 0:
        return _no_data(title)
    months = [days / DAYS_PER_MONTH for days in durations]
    fitter = KaplanMeierFitter(alpha=0.05, label="All patients")
    fitter.fit(months, event_observed=[bool(event) for event in events])
    with matplotlib.rc_context(STYLE):
        # No constrained layout here: the at-risk table sits below the axes and needs fixed room.
        figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES + 0.7), dpi=DPI)
        figure.subplots_adjust(left=0.16, right=0.96, top=0.9, bottom=0.26)
        ax = figure.add_subplot()
        fitter.plot_survival_function(
            ax=ax, ci_show=True, ci_alpha=CI_ALPHA, color=LINE_COLOUR, show_censors=True
        )
        ax.set_title(title, loc="left", fontweight="bold")
        ax.set_xlabel(_("Months since administration"))
        ax.set_ylabel(_("Probability of survival"))
        ax.set_ylim(0, 1.05)
        # At least a year on the axis, so a young registry's first weeks do not look like years.
        ax.set_xlim(0, max(12.0, max(months) * 1.02))
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.legend(
            handles=[Line2D([], [], color=LINE_COLOUR), Patch(facecolor=LINE_COLOUR, alpha=CI_ALPHA)],
            labels=[_("Kaplan–Meier estimate"), _("%(level)s confidence band") % {"level": "95 %"}],
            loc="lower left",
            frameon=False,
        )
        add_at_risk_counts(fitter, ax=ax, fig=figure, rows_to_show=["At risk"], labels=[_("Patients")])
        # lifelines draws its row's name as the key that picks the row: named again in the reader's
        # language on the table's first tick.
        table = figure.axes[-1]
        ticks = [tick.get_text() for tick in table.get_xticklabels()]
        ticks[0] = ticks[0].replace("At risk", _("At risk"), 1)
        table.set_xticklabels(ticks, ha="right")
        return _png(figure, title)


def bar_chart_png(labels: Sequence[str], values: Sequence[int], title: str, *, unit: str) -> bytes:
    """Counts as vertical bars, each with its number on top (the adverse events by grade)."""
    if not values or sum(values) == 0:
        return _no_data(title, NO_DATA if not values else _("None recorded"))
    with matplotlib.rc_context(STYLE):
        figure = _figure()
        ax = figure.add_subplot()
        colours = [BAR_COLOURS[index % len(BAR_COLOURS)] for index in range(len(values))]
        bars = ax.bar(list(labels), list(values), color=colours, edgecolor="#333333", linewidth=0.5)
        ax.bar_label(bars, padding=2)
        ax.set_title(title, loc="left", fontweight="bold")
        ax.set_ylabel(unit)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.margins(y=0.12)
        return _png(figure, title)
