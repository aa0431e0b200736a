from django import forms
from django.utils.translation import gettext_lazy as _

from .trails import RECORD_TYPES

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditSearchForm(forms.Form):
    occurred_from = forms.DateField(label=_("From (UTC day)"), required=False, widget=DATE_INPUT)
    occurred_to = forms.DateField(label=_("To (UTC day, included)"), required=False, widget=DATE_INPUT)
    actor = forms.CharField(label=_("Actor (username)"), required=False, max_length=150)
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=60,
        help_text=_("As the trail names it, e.g. “Visit recorded”."),
    )
    record_type = forms.ChoiceField(
        label=_("Record type"),
        required=False,
        choices=[("", _("Any")), *((key, record_type.name) for key, record_type in RECORD_TYPES.items())],
    )
    reference = forms.CharField(
        label=_("Record reference"),
        required=False,
        max_length=200,
        help_text=_("Part of a request reference, batch number, pseudonym…"),
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("occurred_from"), cleaned.get("occurred_to")
        if start and end and end < start:
            self.add_error("occurred_to", _("The end of the range is before its start."))
        return cleaned
