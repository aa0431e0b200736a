"""The patient's visit schedule letter (SPEC §6): in the patient's own language and large type, the
visits still to come with the days each may take place, and how to reach the hospital.

Like the reminders (followup.reminder_texts), it says nothing clinical: no diagnosis, product, batch,
visit label, test, adverse event or note, and not the pseudonym either, since a letter is left on
tables and read by others. It is addressed to the patient by name, as any letter from a hospital is.
Visits already done, missed or cancelled are left out; an overdue visit still to happen stays in,
with a request to call."""

from datetime import date
from zoneinfo import ZoneInfo

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from atmp_clinic.accounts.models import Organisation
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit, Modality
from atmp_clinic.followup.reminder_texts import address_lines, contact_sentence, localised_date
from atmp_clinic.patients.models import Language

from . import pdf
from .pdf import Built

LETTER_SIZE = 14


def _how(visit: FollowUpVisit) -> str:
    return {
        Modality.IN_PERSON: _("At the hospital"),
        Modality.PHONE: _("We call you"),
        Modality.QUESTIONNAIRE: _("Questionnaire"),
    }[visit.modality]


def _letterhead(hospital: Organisation, style: pdf.Styles) -> list[Flowable]:
    lines = [
        f"<b>{pdf.text(hospital.name)}</b>",
        *(pdf.text(line) for line in address_lines(hospital.address)),
    ]
    if hospital.phone:
        lines.append(pdf.text(_("Telephone: %(phone)s") % {"phone": hospital.phone}))
    return [Paragraph("<br/>".join(lines), style.body), Spacer(1, 6 * mm)]


def _visits(plan: FollowUpPlan, today: date, style: pdf.Styles) -> list[Flowable]:
    visits = list(plan.visits.filter(status=FollowUpVisit.Status.SCHEDULED).order_by("due_on"))
    if not visits:
        return [Paragraph(pdf.text(_("No visits are scheduled for you at the moment.")), style.body)]
    rows = []
    for visit in visits:
        due = pdf.text(localised_date(visit.due_on))
        if visit.due_on < today:
            due += "<br/><b>" + pdf.text(_("Overdue: please call us to arrange it.")) + "</b>"
        opens, closes = localised_date(visit.window_opens_on), localised_date(visit.window_closes_on)
        window = f"{pdf.text(opens)} –<br/>{pdf.text(closes)}"
        rows.append([Paragraph(due, style.cell), Paragraph(window, style.cell), _how(visit)])
    return [
        Paragraph(
            pdf.text(
                _(
                    "These are the dates of your follow-up visits. Each visit can take place on any day "
                    "between the two dates shown for it."
                )
            ),
            style.body,
        ),
        pdf.table(
            [_("Date"), _("Possible days"), _("How")], rows, style=style, widths=[60 * mm, 60 * mm, 50 * mm]
        ),
        Spacer(1, 4 * mm),
    ]


def build(plan: FollowUpPlan) -> Built:
    patient = plan.patient
    hospital = patient.hospital
    identity = getattr(patient, "identity", None)
    language = identity.preferred_language if identity else Language.ENGLISH
    # "Today" where the patient lives, as their reminders count days.
    today = timezone.localdate(timezone=ZoneInfo(identity.time_zone)) if identity else timezone.localdate()
    style = pdf.styles(LETTER_SIZE)
    with translation.override(language):
        title = _("Your follow-up visit schedule")
        greeting = _("Dear %(name)s,") % {"name": identity.full_name} if identity else _("Hello,")
        story: list[Flowable] = [
            *_letterhead(hospital, style),
            Paragraph(pdf.text(localised_date(today)), style.right),
            Paragraph(pdf.text(title), style.heading),
            Paragraph(pdf.text(greeting), style.body),
            *_visits(plan, today, style),
            Paragraph(pdf.text(contact_sentence(hospital)), style.body),
            Paragraph(
                pdf.text(_("Please keep this letter. For your privacy, it contains no medical information.")),
                style.body,
            ),
            Spacer(1, 4 * mm),
            Paragraph("<br/>".join([pdf.text(_("Kind regards,")), pdf.text(hospital.name)]), style.body),
        ]
        built_pdf = pdf.render(
            story,
            title=title,
            author=hospital.name,
            subject=_("Dates of your follow-up visits"),
            reference=hospital.name,
            footer_size=10,
        )
    return Built(pdf=built_pdf, title=title, filename="follow-up-visits.pdf")
