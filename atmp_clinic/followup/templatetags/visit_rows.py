"""Visit rows of the clinician's worklist, written in Python rather than in a template for the same
reason as exemptions' request rows: thirty rows cost the template engine as much as the rest of
the page (bench/worklists.py)."""

from datetime import date

from django import template
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext

register = template.Library()


@register.simple_tag
def visit_rows(visits, today: date) -> SafeString:
    """A table row for each visit: the patient (and whether they are at risk of loss), the visit
    linked, when it is due and how overdue, its window, how it is held and its status."""
    at_risk = format_html(' <span class="state state-missed">{}</span>', gettext("at risk of loss"))
    window_opens_format = gettext("j M")  # its year only when the window crosses a year end

    def row(visit) -> tuple:
        overdue = visit.is_overdue  # once a row: it reads the clock
        return (
            SafeString(' class="overdue"') if overdue else "",
            visit.plan.patient.pseudonym,
            at_risk if visit.plan.is_at_risk else "",
            reverse("visit-detail", args=[visit.pk]),
            visit.display_label,
            date_format(visit.due_on, "SHORT_DATE_FORMAT"),
            format_html(
                ' <strong class="overdue-label">{}</strong>',
                gettext("overdue %(since)s") % {"since": timesince(visit.due_on, today)},
            )
            if overdue
            else "",
            date_format(
                visit.window_opens_on,
                window_opens_format if visit.window_in_one_year else "SHORT_DATE_FORMAT",
            ),
            date_format(visit.window_closes_on, "SHORT_DATE_FORMAT"),
            visit.get_modality_display(),
            visit.status,
            visit.get_status_display(),
        )

    return format_html_join(
        "\n",
        '<tr{}><td><span class="identifier">{}</span>{}</td><td><a href="{}">{}</a></td><td>{}{}</td>'
        '<td>{} – {}</td><td>{}</td><td><span class="state state-{}">{}</span></td></tr>',
        (row(visit) for visit in visits),
    )
