"""Follow-up templates (editable reference data) and the plans generated from them (SPEC §2, §3).

A plan copies what it needs from its template when it is made, so a template changed later does
not rewrite anyone's plan."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from atmp_clinic.exemptions.models import FollowUpTemplate as TemplateCode
from atmp_clinic.manufacturing.models import Administration
from atmp_clinic.patients.models import Patient


class Modality(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "By phone"
    QUESTIONNAIRE = "questionnaire", "Remote questionnaire"


class OffsetUnit(models.TextChoices):
    DAY = "days", "days"
    MONTH = "months", "months"
    YEAR = "years", "years"


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
    label = models.CharField(max_length=60, help_text="e.g. Day 7, Month 3, Year 6")
    offset = models.PositiveSmallIntegerField(help_text="After the administration (day 0).")
    offset_unit = models.CharField(max_length=10, choices=OffsetUnit.choices)
    window_days = models.PositiveSmallIntegerField(help_text="Days either side of the due date.")
    modality = models.CharField(max_length=20, choices=Modality.choices, default=Modality.IN_PERSON)
    collects = models.JSONField(default=list, help_text="What the visit records: outcome forms and tests.")

    class Meta:
        ordering = ["template", "offset_unit", "offset"]
        constraints = [
            models.UniqueConstraint(fields=["template", "offset", "offset_unit"], name="one_visit_per_offset")
        ]

    def __str__(self) -> str:
        return f"{self.template.code}: {self.label}"


class FollowUpPlan(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    administration = models.OneToOneField(
        Administration, on_delete=models.PROTECT, related_name="follow_up_plan"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="follow_up_plans")
    template_code = models.CharField(max_length=40, choices=TemplateCode.choices)
    duration_years = models.PositiveSmallIntegerField()
    starts_on = models.DateField(help_text="Day 0: the date of administration.")
    ends_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("starts_on")), name="plan_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_template_code_display()}, {self.duration_years} years from {self.starts_on}"


class FollowUpVisit(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        COMPLETED = "completed", "Completed"
        MISSED = "missed", "Missed"
        CANCELLED = "cancelled", "Cancelled"

    plan = models.ForeignKey(FollowUpPlan, on_delete=models.PROTECT, related_name="visits")
    label = models.CharField(max_length=60)
    due_on = models.DateField()
    window_opens_on = models.DateField()
    window_closes_on = models.DateField()
    modality = models.CharField(max_length=20, choices=Modality.choices)
    collects = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)

    class Meta:
        ordering = ["plan", "due_on"]
        indexes = [
            models.Index(fields=["due_on"], condition=Q(status="scheduled"), name="visit_scheduled_due")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_opens_on__lte=models.F("due_on"))
                & Q(window_closes_on__gte=models.F("due_on")),
                name="visit_window_holds_due_date",
            )
        ]

    def __str__(self) -> str:
        return f"{self.label}, due {self.due_on}"
