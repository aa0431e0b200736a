from django import forms

from .trails import RECORD_TYPES

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
SIGNATURE_FIELDS = ("password", "code")


class SignatureForm(forms.Form):
    """An e-signature's components, after whatever a form adds for what is signed: the password again,
    and the code of the signer's second factor (the field is taken away for a signer without one, by
    `for_signer`)."""

    password = forms.CharField(
        widget=forms.PasswordInput, help_text="Enter your password again: it is your electronic signature."
    )
    code = forms.CharField(
        label="Authenticator code",
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="The code your authenticator app shows now, or an unused recovery code.",
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
    occurred_from = forms.DateField(label="From (UTC day)", required=False, widget=DATE_INPUT)
    occurred_to = forms.DateField(label="To (UTC day, included)", required=False, widget=DATE_INPUT)
    actor = forms.CharField(label="Actor (username)", required=False, max_length=150)
    action = forms.CharField(
        label="Action",
        required=False,
        max_length=60,
        help_text="As the trail names it, e.g. “Visit recorded”.",
    )
    record_type = forms.ChoiceField(
        label="Record type",
        required=False,
        choices=[("", "Any"), *((key, record_type.name) for key, record_type in RECORD_TYPES.items())],
    )
    reference = forms.CharField(
        label="Record reference",
        required=False,
        max_length=200,
        help_text="Part of a request reference, batch number, pseudonym…",
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("occurred_from"), cleaned.get("occurred_to")
        if start and end and end < start:
            self.add_error("occurred_to", "The end of the range is before its start.")
        return cleaned
