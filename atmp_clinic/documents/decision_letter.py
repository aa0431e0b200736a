"""The authority's decision letter (SPEC §6): on the authority's letterhead, the decision on an
exemption request with its reasons and conditions, the decider's signature manifestation, and how
a recipient has a copy checked (by the authority, quoting the letter's reference). The letter's own SHA-256 is recorded when it is issued, not printed on it:
a file cannot contain its own hash."""

from datetime import timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from atmp_clinic.accounts.models import Organisation
from atmp_clinic.audit.selectors import signatures_for
from atmp_clinic.exemptions.models import Decision, Outcome

from . import pdf
from .pdf import Built


def _period(value: timedelta) -> str:
    """A reporting deadline as authorities state them: "48 hours" under three days, else in days."""
    if value < timedelta(days=3) or value.seconds:
        hours = int(value.total_seconds() // 3600)
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return ngettext("%(n)d day", "%(n)d days", value.days) % {"n": value.days}


def _letterhead(authority: Organisation, style: pdf.Styles) -> list[Flowable]:
    lines = [line for line in authority.address.splitlines() if line.strip()]
    if authority.phone:
        lines.append(_("Telephone %(phone)s") % {"phone": authority.phone})
    return [
        Paragraph(pdf.text(authority.name), style.title),
        pdf.lines(lines, style.small),
        Spacer(1, 8 * mm),
    ]


def _addressee(hospital: Organisation, style: pdf.Styles) -> Paragraph:
    lines = [hospital.name, *(line for line in hospital.address.splitlines() if line.strip())]
    return pdf.lines(lines, style.body)


def _reporting_duties(decision: Decision) -> list[tuple[str, object]]:
    """The duties the decision writes, and those the authority's rules set for every permit."""
    authority = decision.request.authority
    duties: list[tuple[str, object]] = []
    if decision.reporting_duties:
        duties.append((_("Reporting duties"), decision.reporting_duties))
    if authority.expedited_report_deadline:
        duties.append(
            (_("Serious adverse reactions reported within"), _period(authority.expedited_report_deadline))
        )
    if authority.expedited_report_deadline_fatal:
        duties.append(
            (_("Fatal or life-threatening ones within"), _period(authority.expedited_report_deadline_fatal))
        )
    if authority.notify_each_administration:
        duties.append((_("Each administration"), _("notified to the authority at once")))
    return duties


def _conditions(decision: Decision, style: pdf.Styles) -> list[Flowable]:
    if decision.outcome == Outcome.REJECTED:
        return []
    story: list[Flowable] = [Paragraph(pdf.text(_("Conditions of the permit")), style.heading)]
    if decision.conditions:
        story.append(pdf.multiline(decision.conditions, style.body))
    story.append(
        pdf.key_values(
            [
                (
                    _("Follow-up"),
                    ngettext("%(n)d year", "%(n)d years", decision.follow_up_years)
                    % {"n": decision.follow_up_years},
                ),
                (_("Follow-up schedule"), decision.get_follow_up_template_display()),
                *_reporting_duties(decision),
                (_("Permit valid until"), date_format(decision.valid_until, "j F Y")),
            ],
            style=style,
        )
    )
    return story


def build(decision: Decision) -> Built:
    style = pdf.styles()
    request = decision.request
    authority, hospital = request.authority, request.hospital
    title = _("Decision letter — %(reference)s") % {"reference": request.reference}
    # What a recipient can do: the authority checks a copy on the platform against the file it issued.
    verify = _(
        "This letter is recorded on the ATMP Clinic platform as issued, with the SHA-256 of its file. "
        "To make sure a copy is genuine and unchanged, send it to %(authority)s quoting our reference "
        "%(reference)s: the authority can check it against the letter it issued."
    ) % {"authority": authority.name, "reference": request.reference}
    story: list[Flowable] = [
        *_letterhead(authority, style),
        _addressee(hospital, style),
        Spacer(1, 6 * mm),
        Paragraph(
            pdf.text(
                _("Date: %(date)s · Our reference: %(reference)s")
                % {
                    "date": date_format(timezone.localdate(decision.decided_at), "j F Y"),
                    "reference": request.reference,
                }
            ),
            style.right,
        ),
        Paragraph(pdf.text(title), style.heading),
        Paragraph(
            pdf.text(
                _(
                    "Decision on your %(kind)s for %(product)s, for the patient with pseudonymous code "
                    "%(patient)s, submitted %(submitted)s."
                )
                % {
                    "kind": request.get_kind_display().lower(),
                    "product": request.product.name,
                    "patient": request.patient.pseudonym,
                    "submitted": date_format(timezone.localdate(request.submitted_at), "j F Y"),
                }
            ),
            style.body,
        ),
        # The indication as the hospital typed it, on a line of its own: inside the sentence its own
        # full stop (or none, or a question mark) read as "exhausted., submitted".
        pdf.key_values(
            [(_("Indication"), f"{request.indication_code} {request.indication}".strip())], style=style
        ),
        Paragraph(pdf.text(_("Decision")), style.heading),
        Paragraph(f"<b>{pdf.text(decision.get_outcome_display())}</b>", style.body),
        Paragraph(pdf.text(_("Reasons")), style.heading),
        pdf.multiline(decision.reasons, style.body),
        *_conditions(decision, style),
        Paragraph(pdf.text(_("Signature")), style.heading),
    ]
    for signature in signatures_for(obj=decision):
        story += pdf.signature_block(signature, style=style)
    story.append(Paragraph(pdf.text(verify), style.small))
    return Built(
        pdf=pdf.render(
            story,
            title=title,
            author=authority.name,
            subject=_("Decision on hospital-exemption request %(reference)s")
            % {"reference": request.reference},
            reference=request.reference,
        ),
        title=title,
        filename=f"{request.reference}-decision.pdf",
    )
