from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .services import TOKEN_LIFETIME_DAYS


class ApiTokenForm(forms.Form):
    days = forms.TypedChoiceField(
        label=_("Valid for"),
        coerce=int,
        initial=TOKEN_LIFETIME_DAYS[1],
        widget=forms.RadioSelect,
        help_text=_("The token stops working at the end of this time, or sooner if you revoke it."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Worded per request, in the language of the page.
        self.fields["days"].choices = [
            (days, ngettext("%(days)d day", "%(days)d days", days) % {"days": days})
            for days in TOKEN_LIFETIME_DAYS
        ]
