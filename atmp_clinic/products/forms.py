from django import forms
from django.utils.translation import gettext_lazy as _

from .classification import QUESTIONS
from .models import Product, ReleaseTest

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class ClassificationForm(forms.Form):
    """The assistant's questions, each answered yes or no (none preselected: an answer is a decision)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, question in QUESTIONS.items():
            self.fields[name] = forms.TypedChoiceField(
                label=_(question),
                choices=YES_NO,
                coerce=lambda value: value == "yes",
                widget=forms.RadioSelect,
                error_messages={"required": _("Answer yes or no.")},
            )


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["name", "atmp_class", "origin", "vector_kind", "mechanism_of_action"]
        widgets = {"mechanism_of_action": forms.Textarea(attrs={"rows": 4})}
        labels = {
            "name": _("Name"),
            "atmp_class": _("ATMP class"),
            "origin": _("Origin"),
            "vector_kind": _("Vector kind"),
            "mechanism_of_action": _("Mechanism of action"),
        }
        help_texts = {"vector_kind": _("Gene therapies only.")}


class ReleaseTestForm(forms.ModelForm):
    class Meta:
        model = ReleaseTest
        fields = ["kind", "name", "lower_limit", "upper_limit", "unit", "expected_result"]
        labels = {
            "kind": _("Kind"),
            "name": _("Name"),
            "lower_limit": _("Lower limit"),
            "upper_limit": _("Upper limit"),
            "unit": _("Unit"),
            "expected_result": _("Expected result"),
        }
        help_texts = {
            "name": _("What is measured and how, e.g. “Viability (7-AAD flow)”."),
            "unit": _("e.g. %, EU/mL, copies/cell"),
            "expected_result": _("For a test without numbers, e.g. “No growth” or “Not detected”."),
        }
