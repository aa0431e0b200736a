from django import forms
from django.utils.translation import gettext_lazy as _


class AnnualReportForm(forms.Form):
    """Which hospital's report, for which year, among those the user may have."""

    hospital = forms.ModelChoiceField(
        label=_("Hospital"),
        queryset=None,
        empty_label=None,
        error_messages={"invalid_choice": _("Choose one of the hospitals listed.")},
    )
    year = forms.TypedChoiceField(
        label=_("Year"), coerce=int, error_messages={"invalid_choice": _("Choose one of the years listed.")}
    )

    def __init__(self, *args, hospitals, years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hospital"].queryset = hospitals
        self.fields["year"].choices = [(year, year) for year in years]
