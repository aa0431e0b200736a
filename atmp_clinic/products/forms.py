from django import forms

from .classification import QUESTIONS
from .models import Product, ReleaseTest

YES_NO = [("yes", "Yes"), ("no", "No")]


class ClassificationForm(forms.Form):
    """The assistant's questions, each answered yes or no (none preselected: an answer is a decision)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, question in QUESTIONS.items():
            self.fields[name] = forms.TypedChoiceField(
                label=question,
                choices=YES_NO,
                coerce=lambda value: value == "yes",
                widget=forms.RadioSelect,
                error_messages={"required": "Answer yes or no."},
            )


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["name", "atmp_class", "origin", "vector_kind", "mechanism_of_action"]
        widgets = {"mechanism_of_action": forms.Textarea(attrs={"rows": 4})}


class ReleaseTestForm(forms.ModelForm):
    class Meta:
        model = ReleaseTest
        fields = ["kind", "name", "lower_limit", "upper_limit", "unit", "expected_result"]
