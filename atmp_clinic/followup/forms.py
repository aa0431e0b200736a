from django import forms
from django.utils.translation import gettext_lazy as _

from atmp_clinic.manufacturing.forms import DATE_INPUT
from atmp_clinic.patients.models import ConsentKind, Patient

from .models import Modality


def drafting(form: forms.BaseForm) -> forms.BaseForm:
    """The form for saving a draft: nothing is required, so only what cannot be read (a date that is
    not a date, a number out of range) stops the save; recording it later checks everything."""
    for field in form.fields.values():
        field.required = False
    return form


class VisitRecordForm(forms.Form):
    performed_on = forms.DateField(label=_("Date of the visit"), widget=DATE_INPUT)
    out_of_window_reason = forms.CharField(
        label=_("Reason, if outside the window"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed only when the date falls outside the visit's window."),
    )  # fmt: skip
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class VisitMissedForm(forms.Form):
    note = forms.CharField(
        label=_("Why it was missed"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("e.g. the patient could not be reached after three calls."),
    )  # fmt: skip


class VisitRescheduleForm(forms.Form):
    due_on = forms.DateField(label=_("New date"), widget=DATE_INPUT)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class PlanAmendForm(forms.Form):
    duration_years = forms.IntegerField(
        label=_("New duration (years)"), required=False, min_value=1, max_value=30,
        help_text=_("Leave empty to keep the duration; yearly visits are added for the new years."),
    )  # fmt: skip
    visit_label = forms.CharField(
        label=_("Extra visit"), max_length=60, required=False, help_text=_("e.g. Extra MRI")
    )
    visit_due_on = forms.DateField(label=_("Extra visit due on"), required=False, widget=DATE_INPUT)
    visit_window_days = forms.IntegerField(
        label=_("Window (± days)"), required=False, min_value=0, max_value=90, initial=14
    )
    visit_modality = forms.ChoiceField(label=_("Modality"), choices=Modality.choices, required=False)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        extra = [data.get(name) for name in ("visit_label", "visit_due_on")]
        if any(extra) and not all(extra):
            raise forms.ValidationError(_("An extra visit needs both a name and a date."))
        return data

    def amendment(self) -> dict:
        """The arguments of services.plan_amend."""
        data = self.cleaned_data
        extra = []
        if data.get("visit_label"):
            extra.append(
                {
                    "label": data["visit_label"],
                    "due_on": data["visit_due_on"],
                    "window_days": data.get("visit_window_days") or 0,
                    "modality": data.get("visit_modality") or Modality.IN_PERSON,
                }
            )
        return {"duration_years": data.get("duration_years"), "extra_visits": extra, "reason": data["reason"]}


class ReminderChannelsForm(forms.Form):
    email = forms.BooleanField(label=_("Remind me by email"), required=False)
    sms = forms.BooleanField(label=_("Remind me by text message (SMS)"), required=False)


def reminder_channels_form(patient: Patient) -> ReminderChannelsForm:
    """The form with the channels the patient has consented to now."""
    active = set(patient.consents.filter(withdrawn_on__isnull=True).values_list("kind", flat=True))
    return ReminderChannelsForm(
        initial={"email": ConsentKind.REMINDER_EMAIL in active, "sms": ConsentKind.REMINDER_SMS in active}
    )
