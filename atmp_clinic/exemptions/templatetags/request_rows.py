"""Request rows and review clocks, written in Python rather than in a template: a worklist shows
thirty rows, and the template engine spent about 0.2 ms on each (variable lookups, an include and
two translations with their own context per row), as much as the rest of the page
(bench/worklists.py)."""

from django import template
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from atmp_clinic.exemptions.selectors import ReviewClock

register = template.Library()


@register.simple_tag
def review_clock(clock: ReviewClock | None) -> SafeString:
    """When the request is due, or, while its clock stands still for the hospital's answer, when that
    answer is due; and its phase and day in review."""
    if clock is None:
        return SafeString("—")
    due = date_format(clock.due_on, "SHORT_DATE_FORMAT")
    if clock.is_stopped and clock.answer_due_on:
        # The hospital's deadline, not the authority's stopped one: missing it lapses the request.
        when = gettext("Answer due by %(due)s") % {
            "due": date_format(clock.answer_due_on, "SHORT_DATE_FORMAT")
        }
        where = gettext("(clock stopped, %(phase)s, day %(day)s)") % {
            "phase": clock.phase_label,
            "day": clock.days_in_review,
        }
        return format_html('{} <span class="hint">{}</span>', when, where)
    if clock.is_overdue:
        when = format_html(
            '<strong class="overdue-label">{}</strong> {}',
            gettext("Overdue"),
            gettext("since %(due)s") % {"due": due},
        )
    else:
        when = gettext("Clock stopped") if clock.is_stopped else due
    where = gettext("(%(phase)s, day %(day)s)") % {"phase": clock.phase_label, "day": clock.days_in_review}
    return format_html('{} <span class="hint">{}</span>', when, where)


@register.simple_tag
def request_rows(rows, *, show_hospital: bool = False) -> SafeString:
    """A table row for each (request, clock): reference linked, state, patient, product, the
    hospital where asked, and the clock. References and pseudonyms carry class="identifier": they are
    kept on one line (a code broken mid-way reads as two)."""
    return format_html_join(
        "\n",
        '<tr{}><td><a class="identifier" href="{}">{}</a></td><td><span class="state state-{}">{}</span></td>'
        '<td class="identifier">{}</td><td>{}</td>{}'
        "<td>{}</td></tr>",
        (
            (
                SafeString(' class="overdue"') if clock and clock.is_overdue else "",
                reverse("request-detail", args=[exemption.pk]),
                exemption.reference,
                exemption.state,
                exemption.get_state_display(),
                exemption.patient.pseudonym,
                exemption.product.name,
                format_html("<td>{}</td>", exemption.hospital.name) if show_hospital else "",
                review_clock(clock),
            )
            for exemption, clock in rows
        ),
    )
