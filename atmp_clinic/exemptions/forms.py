from django import forms
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.audit.forms import SignatureForm
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product

from .models import AssessmentKind, ExemptionRequest, FollowUpTemplate, Outcome, Recommendation
from .selectors import REQUEST_SECTIONS, FormProgress
from .services import EDITABLE_FIELDS

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def formfield_keeping_model_minimum(model_field, **kwargs):
    """The model field's form field, whose lowest value is the model's rule (its MinValueValidator):
    a positive field's form field otherwise says "at least 0" first and the model "at least 1" only
    once that is met, and the browser's min is 0."""
    minimums = [v.limit_value for v in model_field.validators if isinstance(v, MinValueValidator)]
    if minimums:
        kwargs.setdefault("min_value", max(minimums))
    return model_field.formfield(**kwargs)


class RequestForm(forms.ModelForm):
    """Every field the hospital writes; patient and product only when the draft is created."""

    class Meta:
        model = ExemptionRequest
        fields = ["patient", "product", *EDITABLE_FIELDS]
        formfield_callback = formfield_keeping_model_minimum
        widgets = {
            "planned_administration_date": DATE_INPUT,
            **{name: forms.Textarea(attrs={"rows": 3}) for name in (
                "indication", "unmet_need", "manufacturing_site", "quality_summary", "pharmacovigilance",
                "follow_up_plan",
            )},
        }  # fmt: skip
        labels = {
            "patient": _("Patient"),
            "product": _("Product"),
            "kind": _("Kind"),
            "modifies": _("Modifies"),
            "indication_code": _("Indication (ICD-10 code)"),
            "indication": _("Indication"),
            "unmet_need": _("Justification of the unmet need"),
            "not_otherwise_available": _(
                "Not available through a marketing authorisation, a clinical trial or a compassionate-use programme"
            ),
            "criterion_non_routine": _("Prepared on a non-routine basis"),
            "criterion_custom_made": _("Custom-made for an individual patient"),
            "criterion_individual_prescription": _("Under an individual medical prescription"),
            "criterion_same_member_state": _("Prepared and used in the same Member State"),
            "criterion_in_hospital": _("Used in a hospital"),
            "criterion_physician_responsibility": _(
                "Under the exclusive professional responsibility of a physician"
            ),
            "dose": _("Dose"),
            "route": _("Route"),
            "frequency": _("Frequency"),
            "batches_expected": _("Batches expected"),
            "planned_administration_date": _("Planned administration date"),
            "manufacturing_site": _("Manufacturing site"),
            "manufacturing_authorisation": _("Manufacturing authorisation"),
            "qualified_person": _("Qualified person for batch release"),
            "quality_summary": _("Quality summary"),
            "pharmacovigilance": _("Pharmacovigilance arrangements"),
            "follow_up_plan": _("Proposed follow-up plan"),
            "responsible_physician": _("Responsible physician"),
        }

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

    def sections(self, progress: FormProgress | None = None) -> list[tuple[str, str, list, bool | None]]:
        """(id, title, bound fields, complete) per section with fields on this form, for fieldsets;
        complete is None while the request is not saved yet."""
        return [
            (key, title, [self[name] for name in names if name in self.fields],
             progress.is_complete(key) if progress else None)
            for key, title, names in REQUEST_SECTIONS
            if any(name in self.fields for name in names)
        ]  # fmt: skip


class CommentForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ReasonsForm(forms.Form):
    reasons = forms.CharField(label=_("What is missing"), widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class QuestionsForm(forms.Form):
    questions = forms.CharField(label=_("Questions"), widget=forms.Textarea(attrs={"rows": 4}))


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("Answer"), widget=forms.Textarea(attrs={"rows": 4}))


class AssessmentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=AssessmentKind.choices)
    report = forms.CharField(label=_("Report"), widget=forms.Textarea(attrs={"rows": 5}))
    recommendation = forms.ChoiceField(label=_("Recommendation"), choices=Recommendation.choices)


class DecisionForm(SignatureForm):
    # Nothing chosen beforehand: a signed decision is the decider's own choice, never a default
    # left standing.
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", "—"), *Outcome.choices])
    reasons = forms.CharField(label=_("Reasons"), widget=forms.Textarea(attrs={"rows": 3}))
    conditions = forms.CharField(
        label=_("Conditions"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Required for an approval with conditions."),
    )
    follow_up_years = forms.IntegerField(label=_("Follow-up years"),
        min_value=1, max_value=30, required=False,
        help_text=_("Leave empty for the default: 15 years after integrating vectors or genome editing, 5 otherwise."),
    )  # fmt: skip
    follow_up_template = forms.ChoiceField(
        choices=[("", _("The default for the product's class and vector")), *FollowUpTemplate.choices],
        required=False,
        label=_("Follow-up template"),
    )
    reporting_duties = forms.CharField(
        label=_("Reporting duties"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("PDF document"), widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
        help_text=_("PDF only, without a password."),
    )  # fmt: skip
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        help_text=_("e.g. Qualified person's CV; potency assay validation"),
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
