"""The words of every reminder (SPEC §5): to patients in their own language, to staff in English.

A patient's message says when, where and whom to call, and nothing clinical: no visit label, no
tests, no product, no name or pseudonym, since email and SMS are read on lock screens and shared
devices. Each function activates the language itself, so callers need not."""

from datetime import date, timedelta

from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext, npgettext, pgettext

from atmp_clinic.accounts.models import Organisation
from atmp_clinic.followup.models import FollowUpVisit, Modality


def localised_date(day: date) -> str:
    """The date as the active language writes it: "12. März 2026", "12 de marzo de 2026"."""
    return date_format(day, "DATE_FORMAT")


def address_lines(address: str) -> list[str]:
    return [line.strip() for line in address.splitlines() if line.strip()]


def visit_title(visit: FollowUpVisit, hospital: Organisation) -> str:
    """What the visit is called in a calendar: the kind of contact and the hospital."""
    titles = {
        Modality.IN_PERSON: gettext("Follow-up visit – %(hospital)s"),
        Modality.PHONE: gettext("Follow-up phone call – %(hospital)s"),
        Modality.QUESTIONNAIRE: gettext("Follow-up questionnaire – %(hospital)s"),
    }
    return titles[visit.modality] % {"hospital": hospital.name}


def window_sentence(visit: FollowUpVisit) -> str:
    """The days the visit may take place, which matter more to a patient than the due date itself.
    A rescheduled visit keeps the protocol's window for compliance, but its new date was agreed
    with the patient and may lie outside it: then the date is what counts, and no window is told."""
    if visit.originally_due_on is not None:
        return gettext("This date was agreed with you; please call us if it no longer suits you.")
    sentences = {
        Modality.IN_PERSON: gettext(
            "Any day from %(opens)s to %(closes)s is fine; please call to agree the time."
        ),
        Modality.PHONE: gettext(
            "Any day from %(opens)s to %(closes)s is fine; please call to agree a time for the call."
        ),
        Modality.QUESTIONNAIRE: gettext("You can fill it in on any day from %(opens)s to %(closes)s."),
    }
    return sentences[visit.modality] % {
        "opens": localised_date(visit.window_opens_on),
        "closes": localised_date(visit.window_closes_on),
    }


def contact_sentence(hospital: Organisation) -> str:
    if hospital.phone:
        return gettext("For questions or to change the date, call %(hospital)s on %(phone)s.") % {
            "hospital": hospital.name,
            "phone": hospital.phone,
        }
    return gettext("For questions or to change the date, contact %(hospital)s.") % {"hospital": hospital.name}


def _relative_day(days_before: int) -> str:
    if days_before == 0:
        return pgettext("visit is …", "today")
    if days_before == 1:
        return pgettext("visit is …", "tomorrow")
    return npgettext("visit is …", "in %(count)d day", "in %(count)d days", days_before) % {
        "count": days_before
    }


def reminder_email(visit: FollowUpVisit, *, days_before: int, language: str) -> tuple[str, str]:
    """Subject and plain-text body of a visit reminder; the calendar file goes with it as an attachment."""
    hospital = visit.plan.patient.hospital
    with translation.override(language):
        due = {"date": localised_date(visit.due_on)}
        when = due | {"when": _relative_day(days_before)}
        if visit.modality == Modality.IN_PERSON:
            subject = gettext("Reminder: follow-up visit on %(date)s") % due
            opening = gettext("Your next follow-up visit is %(when)s, on %(date)s.") % when
            where = "\n".join([gettext("Where:"), hospital.name, *address_lines(hospital.address)])
        elif visit.modality == Modality.PHONE:
            subject = gettext("Reminder: follow-up phone call on %(date)s") % due
            opening = gettext("Your next follow-up phone call is %(when)s, on %(date)s.") % when
            where = gettext("We will call you; there is no need to come to the hospital.")
        else:
            subject = gettext("Reminder: follow-up questionnaire due on %(date)s") % due
            opening = gettext("Your next follow-up questionnaire is due %(when)s, on %(date)s.") % when
            where = gettext(
                "You will receive the questionnaire from us; there is no need to come to the hospital."
            )
        paragraphs = [
            gettext("Hello,"),
            f"{opening}\n{window_sentence(visit)}",
            where,
            contact_sentence(hospital),
            gettext("The attached calendar file puts the date in your calendar."),
            gettext("For your privacy, this message contains no medical information."),
            "\n".join([gettext("Kind regards,"), hospital.name]),
        ]
    return subject, "\n\n".join(paragraphs) + "\n"


def reminder_sms(visit: FollowUpVisit, *, days_before: int, language: str) -> str:
    """A text short enough for one SMS (160 characters) with a typical hospital name. The relative day
    is left out for length (`days_before` is kept so both reminders are called alike)."""
    hospital = visit.plan.patient.hospital
    with translation.override(language):
        texts = {
            Modality.IN_PERSON: gettext("Reminder: follow-up visit on %(date)s at %(hospital)s."),
            Modality.PHONE: gettext("Reminder: %(hospital)s will call you for your follow-up on %(date)s."),
            Modality.QUESTIONNAIRE: gettext(
                "Reminder: your follow-up questionnaire for %(hospital)s is due on %(date)s."
            ),
        }
        text = texts[visit.modality] % {"date": localised_date(visit.due_on), "hospital": hospital.name}
        if hospital.phone:
            text += " " + gettext("To change it, call %(phone)s.") % {"phone": hospital.phone}
    return text


def overdue_digest(*, hospital: Organisation, visits: list[FollowUpVisit], link: str) -> tuple[str, str]:
    """Subject and body of the digest a hospital's clinicians get about their overdue visits; staff
    know patients by pseudonym, so it names them so."""
    today = timezone.localdate()
    count = len(visits)
    noun = "visit" if count == 1 else "visits"
    subject = f"{count} follow-up {noun} overdue at {hospital.name}"
    # Staff text, English whatever language is active; the same for the month names in its dates.
    with translation.override("en"):
        lines = [
            f"- {visit.plan.patient.pseudonym}, {visit.label}: due {date_format(visit.due_on, 'j M Y')}, "
            f"{_days(today - visit.due_on)} overdue"
            for visit in sorted(visits, key=lambda visit: (visit.due_on, visit.plan.patient.pseudonym))
        ]
    body = "\n".join(
        [
            f"{count} follow-up {noun} {'is' if count == 1 else 'are'} overdue at {hospital.name}:",
            "",
            *lines,
            "",
            f"Record each visit, or why it was missed, on the worklist: {link}",
        ]
    )
    return subject, body + "\n"


def _days(span: timedelta) -> str:
    return "1 day" if span.days == 1 else f"{span.days} days"
