from django import forms
from django.utils.translation import gettext_lazy as _

from atmp_clinic.audit.forms import SignatureForm

from .models import Batch

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class CollectionForm(forms.Form):
    donation_identifier = forms.CharField(
        label=_("Donation identification sequence (SEC)"), max_length=40,
        help_text=_("Country, tissue establishment code and donation number, e.g. NL000123G123498654321."),
    )  # fmt: skip
    check_character = forms.CharField(
        label=_("Check character"),
        max_length=1,
        required=False,
        help_text=_("For an ISBT 128 donation number: the boxed character after it."),
    )
    material = forms.CharField(
        label=_("Material"), max_length=100, help_text=_("e.g. leukapheresis, skin biopsy")
    )
    collected_at = forms.DateTimeField(
        label=_("Collected at"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    collection_site = forms.CharField(label=_("Collection site"), max_length=200)


class BatchForm(forms.Form):
    batch_number = forms.CharField(label=_("Batch number"), max_length=40)
    product_code = forms.CharField(
        label=_("Product identification sequence (SEC)"), max_length=30, required=False,
        help_text=_("Optional: coding system, product code, split number and expiry, e.g. AE0001V000120270315."),
    )  # fmt: skip
    manufactured_on = forms.DateField(label=_("Manufactured on"), widget=DATE_INPUT)
    expires_on = forms.DateField(label=_("Expires on"), widget=DATE_INPUT)


class ResultForm(forms.Form):
    test = forms.ModelChoiceField(label=_("Test"), queryset=None, empty_label=None)
    value = forms.DecimalField(
        label=_("Value"), required=False, max_digits=14, decimal_places=4, help_text=_("For a measured test.")
    )
    observation = forms.CharField(
        label=_("Observation"), required=False, max_length=100, help_text=_("For a test without numbers.")
    )

    def __init__(self, *args, batch: Batch, **kwargs):
        super().__init__(*args, **kwargs)
        recorded = batch.results.values_list("test_id", flat=True)
        self.fields["test"].queryset = batch.request.product.release_tests.exclude(pk__in=recorded)
        self.fields["test"].label_from_instance = lambda test: (
            _("%(test)s (specification: %(specification)s)")
            % {"test": test.name, "specification": test.specification}
        )


class CorrectionForm(forms.Form):
    result = forms.ModelChoiceField(queryset=None, empty_label=None, label=_("Result to correct"))
    value = forms.DecimalField(label=_("Value"), required=False, max_digits=14, decimal_places=4)
    observation = forms.CharField(label=_("Observation"), required=False, max_length=100)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, batch: Batch, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["result"].queryset = batch.results.select_related("test")
        self.fields["result"].label_from_instance = lambda result: f"{result.test.name}: {result.shown}"


class JustificationForm(SignatureForm):
    justification = forms.CharField(label=_("Justification"), widget=forms.Textarea(attrs={"rows": 3}))


class CollectionCorrectionForm(forms.Form):
    material = forms.CharField(label=_("Material"), max_length=100, required=False)
    collected_at = forms.DateTimeField(
        label=_("Collected at"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS, required=False
    )
    collection_site = forms.CharField(label=_("Collection site"), max_length=200, required=False)
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Fill in only what changes.")
    )


class AdministrationCorrectionForm(forms.Form):
    administered_at = forms.DateTimeField(
        label=_("Administered at"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS, required=False
    )
    dose = forms.CharField(label=_("Dose"), max_length=200, required=False)
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Fill in only what changes.")
    )


class AdministrationForm(forms.Form):
    administered_at = forms.DateTimeField(
        label=_("Administered at"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    dose = forms.CharField(label=_("Dose"), max_length=200)
    patient_code = forms.CharField(
        label=_("Patient code"), max_length=20, help_text=_("Read it from the patient's wristband.")
    )
    batch_code = forms.CharField(
        label=_("Batch code"), max_length=40, help_text=_("Read it from the batch label.")
    )
