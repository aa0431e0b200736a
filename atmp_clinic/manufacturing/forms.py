from django import forms

from atmp_clinic.audit.forms import SignatureForm

from .models import Batch

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class CollectionForm(forms.Form):
    donation_identifier = forms.CharField(
        label="Donation identification sequence (SEC)", max_length=40,
        help_text="Country, tissue establishment code and donation number, e.g. NL000123G123498654321.",
    )  # fmt: skip
    check_character = forms.CharField(
        max_length=1,
        required=False,
        help_text="For an ISBT 128 donation number: the boxed character after it.",
    )
    material = forms.CharField(max_length=100, help_text="e.g. leukapheresis, skin biopsy")
    collected_at = forms.DateTimeField(widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS)
    collection_site = forms.CharField(max_length=200)


class BatchForm(forms.Form):
    batch_number = forms.CharField(max_length=40)
    product_code = forms.CharField(
        label="Product identification sequence (SEC)", max_length=30, required=False,
        help_text="Optional: coding system, product code, split number and expiry, e.g. AE0001V000120270315.",
    )  # fmt: skip
    manufactured_on = forms.DateField(widget=DATE_INPUT)
    expires_on = forms.DateField(widget=DATE_INPUT)


class ResultForm(forms.Form):
    test = forms.ModelChoiceField(queryset=None, empty_label=None)
    value = forms.DecimalField(
        required=False, max_digits=14, decimal_places=4, help_text="For a measured test."
    )
    observation = forms.CharField(required=False, max_length=100, help_text="For a test without numbers.")

    def __init__(self, *args, batch: Batch, **kwargs):
        super().__init__(*args, **kwargs)
        recorded = batch.results.values_list("test_id", flat=True)
        self.fields["test"].queryset = batch.request.product.release_tests.exclude(pk__in=recorded)
        self.fields["test"].label_from_instance = lambda test: (
            f"{test.name} (specification: {test.specification})"
        )


class CorrectionForm(forms.Form):
    result = forms.ModelChoiceField(queryset=None, empty_label=None, label="Result to correct")
    value = forms.DecimalField(required=False, max_digits=14, decimal_places=4)
    observation = forms.CharField(required=False, max_length=100)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, batch: Batch, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["result"].queryset = batch.results.select_related("test")
        self.fields["result"].label_from_instance = lambda result: f"{result.test.name}: {result.shown}"


class JustificationForm(SignatureForm):
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class CollectionCorrectionForm(forms.Form):
    material = forms.CharField(max_length=100, required=False)
    collected_at = forms.DateTimeField(widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS, required=False)
    collection_site = forms.CharField(max_length=200, required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Fill in only what changes.")


class AdministrationCorrectionForm(forms.Form):
    administered_at = forms.DateTimeField(
        widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS, required=False
    )
    dose = forms.CharField(max_length=200, required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Fill in only what changes.")


class AdministrationForm(forms.Form):
    administered_at = forms.DateTimeField(widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS)
    dose = forms.CharField(max_length=200)
    patient_code = forms.CharField(max_length=20, help_text="Read it from the patient's wristband.")
    batch_code = forms.CharField(max_length=40, help_text="Read it from the batch label.")
