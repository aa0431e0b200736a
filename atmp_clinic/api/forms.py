from django import forms

from .services import TOKEN_LIFETIME_DAYS


class ApiTokenForm(forms.Form):
    days = forms.TypedChoiceField(
        label="Valid for",
        choices=[(days, f"{days} days") for days in TOKEN_LIFETIME_DAYS],
        coerce=int,
        initial=TOKEN_LIFETIME_DAYS[1],
        widget=forms.RadioSelect,
        help_text="The token stops working at the end of this time, or sooner if you revoke it.",
    )
