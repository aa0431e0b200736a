"""Follow-up templates (editable reference data) and the plans generated from them (SPEC §2, §3).

A plan copies what it needs from its template when it is made, so a template changed later does
not rewrite anyone's plan."""

import re

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from atmp_clinic.accounts.models import Organisation, User
from atmp_clinic.exemptions.models import FollowUpTemplate as TemplateCode
from atmp_clinic.manufacturing.models import Administration
from atmp_clinic.patients.models import Patient


class Modality(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    PHONE = "phone", _("By phone")
    QUESTIONNAIRE = "questionnaire", _("Remote questionnaire")


class OffsetUnit(models.TextChoices):
    DAY = "days", _("days")
    MONTH = "months", _("months")
    YEAR = "years", _("years")


class FollowUpTemplateDefinition(models.Model):
    """One of the templates a decision names (SPEC §3), with its visits."""

    code = models.CharField(max_length=40, choices=TemplateCode.choices, unique=True)
    name = models.CharField(max_length=200)
    duration_years = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["code"]
        verbose_name = "follow-up template"

    def __str__(self) -> str:
        return self.name


class VisitDefinition(models.Model):
    template = models.ForeignKey(FollowUpTemplateDefinition, on_delete=models.CASCADE, related_name="visits")
    label = models.CharField(max_length=60, help_text=_("e.g. Day 7, Month 3, Year 6"))
    offset = models.PositiveSmallIntegerField(help_text=_("After the administration (day 0)."))
    offset_unit = models.CharField(max_length=10, choices=OffsetUnit.choices)
    window_days = models.PositiveSmallIntegerField(help_text=_("Days either side of the due date."))
    modality = models.CharField(max_length=20, choices=Modality.choices, default=Modality.IN_PERSON)
    collects = models.JSONField(default=list, help_text=_("What the visit records: outcome forms and tests."))

    class Meta:
        ordering = ["template", "offset_unit", "offset"]
        constraints = [
            models.UniqueConstraint(fields=["template", "offset", "offset_unit"], name="one_visit_per_offset")
        ]

    def __str__(self) -> str:
        return f"{self.template.code}: {self.label}"


class FollowUpPlan(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    class EndReason(models.TextChoices):
        DEATH = "death", _("Death of the patient")
        CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")

    administration = models.OneToOneField(
        Administration, on_delete=models.PROTECT, related_name="follow_up_plan"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="follow_up_plans")
    template_code = models.CharField(max_length=40, choices=TemplateCode.choices)
    duration_years = models.PositiveSmallIntegerField()
    starts_on = models.DateField(help_text=_("Day 0: the date of administration."))
    ends_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    at_risk_since = models.DateField(
        null=True,
        blank=True,
        help_text=_("Set by two consecutive missed visits; cleared by a completed one."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("starts_on")), name="plan_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status="active", ended_on__isnull=True, end_reason="")
                | Q(status="ended", ended_on__isnull=False) & ~Q(end_reason=""),
                name="plan_end_has_date_and_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_template_code_display()}, {self.duration_years} years from {self.starts_on}"

    @property
    def is_at_risk(self) -> bool:
        return self.at_risk_since is not None


# The visit names the default templates and a plan's extra years write: "Day 7", "Month 3", "Year 6".
CANONICAL_VISIT_LABEL = re.compile(r"^(Day|Week|Month|Year) (\d+)$")
VISIT_NAMES = {
    "Day": pgettext_lazy("visit name", "Day %(number)s"),
    "Week": pgettext_lazy("visit name", "Week %(number)s"),
    "Month": pgettext_lazy("visit name", "Month %(number)s"),
    "Year": pgettext_lazy("visit name", "Year %(number)s"),
}


def visit_label_shown(label: str) -> str:
    """A visit's stored name as a person reads it in the active language. The stored label stays as
    recorded (the audit trail and the exports keep it); its canonical forms are translated, and any
    other name, which an authority may have typed in its own words, is shown as typed."""
    match = CANONICAL_VISIT_LABEL.match(label)
    if match is None:
        return label
    unit, number = match.groups()
    return VISIT_NAMES[unit] % {"number": number}


class FollowUpVisit(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        COMPLETED = "completed", _("Completed")
        MISSED = "missed", _("Missed")
        CANCELLED = "cancelled", _("Cancelled")

    plan = models.ForeignKey(FollowUpPlan, on_delete=models.PROTECT, related_name="visits")
    label = models.CharField(max_length=60)
    due_on = models.DateField()
    window_opens_on = models.DateField()
    window_closes_on = models.DateField()
    modality = models.CharField(max_length=20, choices=Modality.choices)
    collects = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    added_by_amendment = models.BooleanField(default=False)
    originally_due_on = models.DateField(
        null=True, blank=True, help_text=_("The plan's date, kept when the visit is rescheduled.")
    )
    performed_on = models.DateField(null=True, blank=True)
    out_of_window_reason = models.TextField(blank=True)
    note = models.TextField(blank=True, help_text=_("Why it was missed, or anything the team should know."))
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "due_on"]
        indexes = [
            models.Index(fields=["due_on"], condition=Q(status="scheduled"), name="visit_scheduled_due"),
            # The clinician's worklist: a hospital's plans' overdue, due and missed visits. Partial, so
            # each holds only the few visits in that state (200,000 and 14,000 of 2.26 million).
            models.Index(
                fields=["plan", "due_on"], condition=Q(status="scheduled"), name="visit_plan_scheduled_due"
            ),
            models.Index(
                fields=["plan", "due_on"], condition=Q(status="missed"), name="visit_plan_missed_due"
            ),
        ]
        constraints = [
            # The window is the protocol's and stays put; a rescheduled appointment may fall outside it.
            models.CheckConstraint(
                condition=Q(window_opens_on__lte=models.F("window_closes_on"))
                & (
                    Q(originally_due_on__isnull=False)
                    | Q(window_opens_on__lte=models.F("due_on")) & Q(window_closes_on__gte=models.F("due_on"))
                ),
                name="visit_window_holds_due_date",
            ),
            models.CheckConstraint(
                condition=Q(status="completed", performed_on__isnull=False)
                | ~Q(status="completed") & Q(performed_on__isnull=True),
                name="visit_performed_when_completed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label}, due {self.due_on}"

    # One lookup each, not Django's translation of every choice per call (see
    # ExemptionRequest.get_state_display): a clinician's worklist shows both on every row.
    def get_status_display(self) -> str:
        try:
            return self.Status(self.status).label
        except ValueError:
            return self.status

    def get_modality_display(self) -> str:
        try:
            return Modality(self.modality).label
        except ValueError:
            return self.modality

    @property
    def display_label(self) -> str:
        """The name as a page, a document or a form shows it, in the active language."""
        return visit_label_shown(self.label)

    @property
    def window_in_one_year(self) -> bool:
        """Whether the window's first day may be written without its year: only when both ends fall
        in the same year ("5 November 2028 and 4 January 2029", never "5 November and 4 January 2029")."""
        return self.window_opens_on.year == self.window_closes_on.year

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.SCHEDULED and self.due_on < timezone.localdate()

    @property
    def was_in_window(self) -> bool | None:
        if self.performed_on is None:
            return None
        return self.window_opens_on <= self.performed_on <= self.window_closes_on


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class OutboxMessage(models.Model):
    """A reminder to a patient or a digest to a clinician (SPEC §5). The row is written before
    anything is sent and claimed (pending → sending) by the one worker that sends it, so a crash
    leaves it visible as "sending", never sent twice; its idempotency key is the email's
    Message-ID and the SMS provider's reference."""

    class Kind(models.TextChoices):
        VISIT_REMINDER = "visit_reminder", _("Visit reminder")
        OVERDUE_DIGEST = "overdue_digest", _("Overdue visits digest")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Not sent: no longer needed")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    visit = models.ForeignKey(
        FollowUpVisit, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    visit_due_on = models.DateField(
        null=True,
        blank=True,
        help_text=_("The date the reminder is for: a rescheduled visit is reminded anew."),
    )
    days_before = models.PositiveSmallIntegerField(null=True, blank=True, help_text=_("The reminder point."))
    hospital = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text=_("For digests.")
    )
    idempotency_key = models.CharField(max_length=80, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    send_after = models.DateTimeField(
        help_text=_("Outside the patient's quiet hours, or after a failure's backoff.")
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    subject = models.CharField(max_length=200, blank=True, help_text=_("As sent, written before sending."))
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["send_after"], condition=Q(status="pending"), name="outbox_pending_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "visit_due_on", "days_before", "channel"],
                condition=Q(kind="visit_reminder"),
                name="one_reminder_per_visit_point_channel",
            ),
            models.CheckConstraint(
                condition=Q(
                    kind="visit_reminder",
                    visit__isnull=False,
                    visit_due_on__isnull=False,
                    days_before__isnull=False,
                )
                | Q(kind="overdue_digest", recipient__isnull=False, channel="email"),
                name="outbox_message_names_its_addressee",
            ),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class VisitDraft(models.Model):
    """A clinician's unfinished form for a visit (the record of the visit, or its outcome), kept as
    typed until it is recorded or discarded. It is not a clinical record: the visit's status, its
    audit trail, the registry and exports never read it; only its author, in its hospital, sees it."""

    class Form(models.TextChoices):
        RECORD = "record", _("Record of the visit")
        OUTCOME = "outcome", _("Outcome of the visit")

    visit = models.ForeignKey(FollowUpVisit, on_delete=models.CASCADE, related_name="drafts")
    form = models.CharField(max_length=10, choices=Form.choices)
    author = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    hospital = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    data = models.JSONField(default=dict, help_text=_("The form's values as typed, by field name."))
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "form", "author"], name="one_draft_per_visit_form_author"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_form_display()} draft of visit {self.visit_id}"
