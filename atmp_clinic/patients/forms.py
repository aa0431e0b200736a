import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Consent, Patient, PatientIdentity

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_ZONES = [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name]

# What a new patient's contact settings start from, by the hospital's country (its capital's zone;
# the languages are those the platform ships).
COUNTRY_TIME_ZONE = {
    "AT": "Europe/Vienna", "BE": "Europe/Brussels", "BG": "Europe/Sofia", "HR": "Europe/Zagreb",
    "CY": "Asia/Nicosia", "CZ": "Europe/Prague", "DK": "Europe/Copenhagen", "EE": "Europe/Tallinn",
    "FI": "Europe/Helsinki", "FR": "Europe/Paris", "DE": "Europe/Berlin", "GR": "Europe/Athens",
    "HU": "Europe/Budapest", "IS": "Atlantic/Reykjavik", "IE": "Europe/Dublin", "IT": "Europe/Rome",
    "LV": "Europe/Riga", "LI": "Europe/Vaduz", "LT": "Europe/Vilnius", "LU": "Europe/Luxembourg",
    "MT": "Europe/Malta", "NL": "Europe/Amsterdam", "NO": "Europe/Oslo", "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon", "RO": "Europe/Bucharest", "SK": "Europe/Bratislava", "SI": "Europe/Ljubljana",
    "ES": "Europe/Madrid", "SE": "Europe/Stockholm",
}  # fmt: skip
COUNTRY_LANGUAGE = {"AT": "de", "DE": "de", "LI": "de", "FR": "fr", "BE": "fr", "LU": "fr", "ES": "es"}


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["year_of_birth", "sex"]
        labels = {"year_of_birth": _("Year of birth"), "sex": _("Sex")}


class PatientIdentityForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=TIME_ZONES,
        help_text=_("Reminders are never sent at night in this zone."),
    )

    class Meta:
        model = PatientIdentity
        fields = ["given_name", "family_name", "email", "phone", "preferred_language", "time_zone"]
        help_texts = {"phone": _("International form, e.g. +31612345678; for SMS reminders.")}
        labels = {
            "given_name": _("Given name"),
            "family_name": _("Family name"),
            "email": _("Email"),
            "phone": _("Phone"),
            "preferred_language": _("Preferred language"),
        }

    @classmethod
    def initial_for(cls, country: str) -> dict:
        return {
            "time_zone": COUNTRY_TIME_ZONE.get(country, "Europe/Brussels"),
            "preferred_language": COUNTRY_LANGUAGE.get(country, "en"),
        }


class ConsentForm(forms.ModelForm):
    class Meta:
        model = Consent
        fields = ["kind", "given_on"]
        widgets = {"given_on": DATE_INPUT}
        labels = {"kind": _("Kind"), "given_on": _("Given on")}


class ConsentWithdrawalForm(forms.Form):
    withdrawn_on = forms.DateField(label=_("Withdrawn on"), widget=DATE_INPUT)


class DeathForm(forms.Form):
    date_of_death = forms.DateField(label=_("Date of death"), widget=DATE_INPUT)
