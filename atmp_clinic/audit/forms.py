from django import forms
from django.utils.translation import gettext_lazy as _

from .trails import RECORD_TYPES

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
SIGNATURE_FIELDS = ("password", "code")


class SignatureForm(forms.Form):
    """An e-signature's components, after whatever a form adds for what is signed: the password again,
    and the code of the signer's second factor (the field is taken away for a signer without one, by
    `for_signer`)."""

    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput,
        help_text=_("Enter your password again: it is your electronic signature."),
    )
    code = forms.CharField(
        label=_("Authenticator code"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text=_("The code your authenticator app shows now, or an unused recovery code."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields([name for name in self.fields if name not in SIGNATURE_FIELDS])


def for_signer(form: forms.Form, user) -> forms.Form:
    """Asks for the code only of a signer whose session was verified with a second factor, which
    everyone who has one must do at login: no query, where the page shows several signature forms."""
    if "code" in form.fields and isinstance(form, SignatureForm) and not user.is_verified():
        del form.fields["code"]
    return form


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
