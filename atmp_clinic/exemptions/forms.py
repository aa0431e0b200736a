from django import forms

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.audit.forms import SignatureForm
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product

from .models import AssessmentKind, ExemptionRequest, FollowUpTemplate, Outcome, Recommendation
from .services import EDITABLE_FIELDS

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RequestForm(forms.ModelForm):
    """Every field the hospital writes; patient and product only when the draft is created."""

    class Meta:
        model = ExemptionRequest
        fields = ["patient", "product", *EDITABLE_FIELDS]
        widgets = {
            "planned_administration_date": DATE_INPUT,
            **{name: forms.Textarea(attrs={"rows": 3}) for name in (
                "indication", "unmet_need", "manufacturing_site", "quality_summary", "pharmacovigilance",
                "follow_up_plan",
            )},
        }  # fmt: skip

    def __init__(self, *args, hospital, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = Patient.objects.filter(
            hospital=hospital, date_of_death__isnull=True
        )
        self.fields["product"].queryset = Product.objects.filter(hospital=hospital, is_active=True)
        self.fields["responsible_physician"].queryset = User.objects.filter(
            memberships__organisation=hospital,
            memberships__role=Role.CLINICIAN,
            memberships__ended_at__isnull=True,
        ).order_by("last_name")
        self.fields["responsible_physician"].label_from_instance = lambda user: (
            user.get_full_name() or user.username
        )
        self.fields["modifies"].queryset = ExemptionRequest.objects.filter(
            hospital=hospital, state__in=("approved", "approved_with_conditions")
        )
        if self.instance.pk:  # a draft's patient and product are fixed once it exists
            del self.fields["patient"]
            del self.fields["product"]
        else:
            self.fields["manufacturing_authorisation"].initial = hospital.manufacturing_authorisation_number


class CommentForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ReasonsForm(forms.Form):
    reasons = forms.CharField(label="What is missing", widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class QuestionsForm(forms.Form):
    questions = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))


class AnswerForm(forms.Form):
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))


class AssessmentForm(forms.Form):
    kind = forms.ChoiceField(choices=AssessmentKind.choices)
    report = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    recommendation = forms.ChoiceField(choices=Recommendation.choices)


class DecisionForm(SignatureForm):
    outcome = forms.ChoiceField(choices=Outcome.choices)
    reasons = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    conditions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Required for an approval with conditions.",
    )
    follow_up_years = forms.IntegerField(
        min_value=1, max_value=30, required=False,
        help_text="Leave empty for the default: 15 years after integrating vectors or genome editing, 5 otherwise.",
    )  # fmt: skip
    follow_up_template = forms.ChoiceField(
        choices=[("", "The default for the product's class and vector"), *FollowUpTemplate.choices],
        required=False,
        label="Follow-up template",
    )
    reporting_duties = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label="PDF document", widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
        help_text="PDF only, without a password.",
    )  # fmt: skip
    description = forms.CharField(
        max_length=200, help_text="e.g. Qualified person's CV; potency assay validation"
    )


# The form of each step a person takes on a request's page.
STEP_FORMS = {
    "co_sign": SignatureForm,
    "submit": SignatureForm,
    "validate": CommentForm,
    "return": ReasonsForm,
    "request_information": QuestionsForm,
    "answer_information": AnswerForm,
    "record_assessment": AssessmentForm,
    "decide": DecisionForm,
    "withdraw": ReasonForm,
    "suspend": ReasonForm,
    "revoke": ReasonForm,
}
