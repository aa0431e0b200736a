"""Hospital-exemption requests and the authority's review of them (SPEC §2, §4).

A request's state changes only through exemptions.services, which holds the transition table."""

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from atmp_clinic.accounts.models import Organisation, User
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")  # the hospital is writing it; the authority does not see it
    SUBMITTED = "submitted", _("Submitted")  # signed and sent; awaits validation; the clock runs
    RETURNED = "returned", _("Returned as incomplete")  # back at the hospital with reasons
    UNDER_ASSESSMENT = "under_assessment", _("Under assessment")  # quality and clinical assessments
    INFORMATION_REQUESTED = "information_requested", _("Information requested")  # clock stopped
    LAPSED = "lapsed", _("Lapsed")  # the hospital did not answer in time; final
    READY_FOR_DECISION = "ready_for_decision", _("Ready for decision")  # both assessments recorded
    APPROVED = "approved", _("Approved")
    APPROVED_WITH_CONDITIONS = "approved_with_conditions", _("Approved with conditions")
    REJECTED = "rejected", _("Rejected")  # final
    WITHDRAWN = "withdrawn", _("Withdrawn")  # by the hospital before a decision; final
    SUSPENDED = "suspended", _("Suspended")  # an approval put on hold by the authority
    REVOKED = "revoked", _("Revoked")  # an approval ended by the authority; final


APPROVED_STATES = (State.APPROVED, State.APPROVED_WITH_CONDITIONS)
# From submission on, the request is the authority's to see.
SENT_STATES = tuple(s for s in State if s not in (State.DRAFT,))
IN_REVIEW_STATES = (
    State.SUBMITTED,
    State.UNDER_ASSESSMENT,
    State.INFORMATION_REQUESTED,
    State.READY_FOR_DECISION,
)


class RequestKind(models.TextChoices):
    INITIAL = "initial", _("Initial request")
    SUBSTANTIAL_MODIFICATION = "substantial_modification", _("Substantial modification of a permit")


class Route(models.TextChoices):
    INTRAVENOUS = "intravenous", _("Intravenous infusion")
    INTRATHECAL = "intrathecal", _("Intrathecal")
    INTRAMUSCULAR = "intramuscular", _("Intramuscular")
    SUBCUTANEOUS = "subcutaneous", _("Subcutaneous")
    INTRADERMAL = "intradermal", _("Intradermal")
    INTRAOCULAR = "intraocular", _("Intraocular / subretinal")
    INTRA_ARTICULAR = "intra_articular", _("Intra-articular")
    INTRACORONARY = "intracoronary", _("Intracoronary / intramyocardial")
    TOPICAL = "topical", _("Topical / graft")
    SURGICAL_IMPLANTATION = "surgical_implantation", _("Surgical implantation")


ICD10_CODE = RegexValidator(
    r"^[A-TV-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$", "An ICD-10 code looks like C83.3 or C91.0."
)

# The hospital-exemption criteria, each attested by the hospital (Regulation 1394/2007 Art. 28).
# Marked for translation, translated where shown; English here, as tests and the API use them.
CRITERIA = {
    "criterion_non_routine": gettext_noop("Prepared on a non-routine basis"),
    "criterion_custom_made": gettext_noop("Custom-made for an individual patient"),
    "criterion_individual_prescription": gettext_noop("Under an individual medical prescription"),
    "criterion_same_member_state": gettext_noop("Prepared and used in the same Member State"),
    "criterion_in_hospital": gettext_noop("Used in a hospital"),
    "criterion_physician_responsibility": gettext_noop(
        "Under the exclusive professional responsibility of a physician"
    ),
}


class ExemptionRequest(models.Model):
    reference = models.CharField(max_length=30, unique=True, editable=False)
    hospital = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="exemption_requests")
    authority = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="received_requests")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="exemption_requests")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="exemption_requests")
    state = models.CharField(max_length=30, choices=State.choices, default=State.DRAFT, editable=False)
    kind = models.CharField(max_length=30, choices=RequestKind.choices, default=RequestKind.INITIAL)
    modifies = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="modifications",
        help_text=_("For a substantial modification: the permit it changes."),
    )  # fmt: skip

    indication_code = models.CharField(
        "indication (ICD-10 code)", max_length=10, blank=True, validators=[ICD10_CODE]
    )
    indication = models.TextField("indication", blank=True)
    unmet_need = models.TextField("justification of the unmet need", blank=True)
    not_otherwise_available = models.BooleanField(
        "not available through a marketing authorisation, a clinical trial or a compassionate-use programme",
        default=False,
    )
    criterion_non_routine = models.BooleanField(CRITERIA["criterion_non_routine"], default=False)
    criterion_custom_made = models.BooleanField(CRITERIA["criterion_custom_made"], default=False)
    criterion_individual_prescription = models.BooleanField(
        CRITERIA["criterion_individual_prescription"], default=False
    )
    criterion_same_member_state = models.BooleanField(CRITERIA["criterion_same_member_state"], default=False)
    criterion_in_hospital = models.BooleanField(CRITERIA["criterion_in_hospital"], default=False)
    criterion_physician_responsibility = models.BooleanField(
        CRITERIA["criterion_physician_responsibility"], default=False
    )
    dose = models.CharField(max_length=200, blank=True, help_text=_("e.g. 1 × 10⁶ CAR+ T cells/kg"))
    route = models.CharField(max_length=30, choices=Route.choices, blank=True)
    frequency = models.CharField(max_length=200, blank=True, help_text=_("e.g. a single infusion"))
    batches_expected = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    planned_administration_date = models.DateField(null=True, blank=True)
    manufacturing_site = models.TextField(blank=True)
    manufacturing_authorisation = models.CharField(max_length=60, blank=True)
    qualified_person = models.CharField("qualified person for batch release", max_length=200, blank=True)
    quality_summary = models.TextField(blank=True)
    pharmacovigilance = models.TextField("pharmacovigilance arrangements", blank=True)
    follow_up_plan = models.TextField("proposed follow-up plan", blank=True)
    responsible_physician = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="requests_as_physician"
    )

    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    validated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["authority", "state"], name="request_authority_state")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="initial", modifies__isnull=True) | Q(kind="substantial_modification"),
                name="only_modifications_modify",
                violation_error_message="Only a substantial modification names the permit it changes.",
            ),
            models.CheckConstraint(
                # A draft may be withdrawn before it was ever sent.
                condition=Q(state__in=["draft", "withdrawn"]) | Q(submitted_at__isnull=False),
                name="sent_requests_have_submission_time",
                violation_error_message="A request sent to the authority has its submission time.",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_state_display(self) -> str:
        # Django's own hashes every choice's lazy label, a translation each, on every call: a dozen
        # per row, most of a worklist's rendering (bench/worklists.py). One lookup does the same.
        try:
            return State(self.state).label
        except ValueError:
            return self.state


def attachment_path(attachment: "Attachment", filename: str) -> str:
    # Stored under the request and a content hash, never under the uploader's file name.
    return f"requests/{attachment.request_id}/{attachment.sha256}.pdf"


class Attachment(models.Model):
    """A PDF filed with a request. Kept for good: its SHA-256 is part of what is signed."""

    request = models.ForeignKey(ExemptionRequest, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=200)
    description = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    pages = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["uploaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "sha256"],
                name="attachment_once_per_request",
                violation_error_message="This document is already attached to the request.",
            )
        ]

    def __str__(self) -> str:
        return self.original_name


class AssessmentKind(models.TextChoices):
    QUALITY = "quality", _("Quality assessment")
    CLINICAL = "clinical", _("Clinical assessment")


class Recommendation(models.TextChoices):
    APPROVE = "approve", _("Approve")
    APPROVE_WITH_CONDITIONS = "approve_with_conditions", _("Approve with conditions")
    REJECT = "reject", _("Reject")


class Assessment(models.Model):
    request = models.ForeignKey(ExemptionRequest, on_delete=models.PROTECT, related_name="assessments")
    kind = models.CharField(max_length=20, choices=AssessmentKind.choices)
    assessor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="assessments")
    report = models.TextField()
    recommendation = models.CharField(max_length=30, choices=Recommendation.choices)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["recorded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "kind"],
                name="one_assessment_per_kind",
                violation_error_message="This assessment of the request is already recorded.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.request}"


class InformationRequest(models.Model):
    """The authority's questions; from asked_at to answered_at the review clock is stopped."""

    request = models.ForeignKey(
        ExemptionRequest, on_delete=models.PROTECT, related_name="information_requests"
    )
    questions = models.TextField()
    asked_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    asked_at = models.DateTimeField(default=timezone.now)
    answer_due_on = models.DateField()
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(answered_at__isnull=True),
                name="one_open_information_request",
                violation_error_message="The hospital has not answered the open questions yet.",
            )
        ]

    def __str__(self) -> str:
        return f"Questions on {self.request} of {self.asked_at:%Y-%m-%d}"


class FollowUpTemplate(models.TextChoices):
    """SPEC §3's default follow-up templates, which a decision names; a patient's visit plan is
    generated from the one named."""

    INTEGRATING_VECTOR = "integrating_vector", _("Integrating vector or genome editing (incl. CAR-T)")
    NON_INTEGRATING_GENE_THERAPY = "non_integrating_gene_therapy", _("Non-integrating gene therapy (AAV)")
    SOMATIC_CELL_THERAPY = "somatic_cell_therapy", _("Somatic cell therapy")
    TISSUE_ENGINEERED = "tissue_engineered", _("Tissue-engineered or combined")


class Outcome(models.TextChoices):
    APPROVED = "approved", _("Approved")
    APPROVED_WITH_CONDITIONS = "approved_with_conditions", _("Approved with conditions")
    REJECTED = "rejected", _("Rejected")


class Decision(models.Model):
    request = models.OneToOneField(ExemptionRequest, on_delete=models.PROTECT, related_name="decision")
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    reasons = models.TextField()
    conditions = models.TextField(blank=True)
    follow_up_years = models.PositiveSmallIntegerField(null=True, blank=True)
    follow_up_template = models.CharField(max_length=40, choices=FollowUpTemplate.choices, blank=True)
    reporting_duties = models.TextField(blank=True)
    valid_until = models.DateField(null=True, blank=True)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="rejected")
                | (Q(follow_up_years__gte=1, valid_until__isnull=False) & ~Q(follow_up_template="")),
                name="approval_sets_follow_up_and_validity",
                violation_error_message="An approval sets the follow-up duration and the permit's validity.",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="approved_with_conditions") | ~Q(conditions=""),
                name="conditions_are_written",
                violation_error_message="Write the conditions of an approval with conditions.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.request}"


class Notification(models.Model):
    """An email telling someone of a step on a request. The row is written in the step's
    transaction and claimed before sending, so a crash leaves it visible as "sending", never sent
    twice; the idempotency key is the email's Message-ID."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    request = models.ForeignKey(ExemptionRequest, on_delete=models.PROTECT, related_name="notifications")
    event = models.ForeignKey("audit.AuditEvent", on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(status="pending"), name="notification_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.recipient}"


class ExemptionRequestUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(ExemptionRequest, on_delete=models.CASCADE)


class ExemptionRequestGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(ExemptionRequest, on_delete=models.CASCADE)
