"""What follow-up finds (SPEC §2): the outcome of each visit, adverse events with their grading,
and the expedited reports a serious adverse reaction owes the authority. Corrected with a reason,
never deleted; the audit trail keeps every earlier value."""

import operator
from functools import reduce

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from atmp_clinic.accounts.models import Organisation, User
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.patients.models import Patient

from .grading import EQ5D5L_DIMENSIONS


class Section(models.TextChoices):
    """What a visit collects, as its template names it (followup VisitDefinition.collects)."""

    VITAL_STATUS = "vital_status", _("Vital status")
    DISEASE_RESPONSE = "disease_response", _("Disease response")
    ECOG = "ecog", _("ECOG performance status")
    ADVERSE_EVENTS = "adverse_events", _("Adverse events")
    LABORATORY = "laboratory", _("Laboratory results")
    QUALITY_OF_LIFE = "eq5d5l", _("Quality of life (EQ-5D-5L)")
    REPLICATION_COMPETENT_VECTOR = "replication_competent_vector", _("Replication-competent vector test")


def section_names(codes: list[str]) -> list[str]:
    """What a visit collects as a person reads it, in the active language; a code that is not one of
    the sections (an old template's) is shown as stored."""
    return [Section(code).label if code in Section.values else code for code in codes]


class Finding(models.TextChoices):
    DETECTED = "detected", _("Detected")
    NOT_DETECTED = "not_detected", _("Not detected")


class OutcomeRecord(models.Model):
    class VitalStatus(models.TextChoices):
        ALIVE = "alive", _("Alive")
        DEAD = "dead", _("Dead")
        UNKNOWN = "unknown", _("Unknown (not reached)")

    class Response(models.TextChoices):
        COMPLETE = "CR", _("Complete response (CR)")
        PARTIAL = "PR", _("Partial response (PR)")
        STABLE = "SD", _("Stable disease (SD)")
        PROGRESSIVE = "PD", _("Progressive disease (PD)")
        RELAPSE = "relapse", _("Relapse")
        NOT_EVALUABLE = "not_evaluable", _("Not evaluable")

    visit = models.OneToOneField(FollowUpVisit, on_delete=models.PROTECT, related_name="outcome")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="outcomes")
    vital_status = models.CharField(max_length=10, choices=VitalStatus.choices)
    date_of_death = models.DateField(null=True, blank=True)
    cause_of_death = models.CharField(max_length=200, blank=True)
    disease_response = models.CharField(max_length=15, choices=Response.choices, blank=True)
    ecog = models.PositiveSmallIntegerField(
        "ECOG performance status", null=True, blank=True, validators=[MaxValueValidator(5)]
    )
    # Laboratory: what ATMP follow-up watches (vector safety, persistence, immune reconstitution).
    replication_competent_vector = models.CharField(max_length=15, choices=Finding.choices, blank=True)
    vector_copy_number = models.DecimalField(
        "vector copy number (copies per cell)", max_digits=8, decimal_places=3, null=True, blank=True,
        validators=[MinValueValidator(0)],
    )  # fmt: skip
    car_t_persistence = models.CharField(
        "CAR-T persistence", max_length=15, choices=Finding.choices, blank=True
    )
    b_cell_aplasia = models.BooleanField("B-cell aplasia", null=True, blank=True)
    igg_g_per_l = models.DecimalField(
        "IgG (g/L)", max_digits=5, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    # EQ-5D-5L: five dimensions at levels 1-5 and the visual analogue scale; no index is computed.
    eq5d_mobility = models.PositiveSmallIntegerField(null=True, blank=True)
    eq5d_self_care = models.PositiveSmallIntegerField(null=True, blank=True)
    eq5d_usual_activities = models.PositiveSmallIntegerField(null=True, blank=True)
    eq5d_pain_discomfort = models.PositiveSmallIntegerField(null=True, blank=True)
    eq5d_anxiety_depression = models.PositiveSmallIntegerField(null=True, blank=True)
    eq5d_vas = models.PositiveSmallIntegerField("EQ VAS (0-100)", null=True, blank=True)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["patient", "visit__due_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(vital_status="dead", date_of_death__isnull=False)
                | ~Q(vital_status="dead") & Q(date_of_death__isnull=True),
                name="outcome_death_has_date",
            ),
            models.CheckConstraint(condition=Q(ecog__lte=5), name="outcome_ecog_0_to_5"),
            models.CheckConstraint(
                condition=reduce(
                    operator.and_,
                    (
                        Q(**{f"eq5d_{name}__range": (1, 5)}) | Q(**{f"eq5d_{name}__isnull": True})
                        for name in EQ5D5L_DIMENSIONS
                    ),
                ),
                name="outcome_eq5d_levels_1_to_5",
            ),
            models.CheckConstraint(condition=Q(eq5d_vas__lte=100), name="outcome_eq5d_vas_0_to_100"),
        ]

    def __str__(self) -> str:
        return f"outcome of {self.visit}"


class Relatedness(models.TextChoices):
    NOT_RELATED = "not_related", _("Not related")
    UNLIKELY = "unlikely", _("Unlikely")
    POSSIBLE = "possible", _("Possible")
    PROBABLE = "probable", _("Probable")
    DEFINITE = "definite", _("Definite")


RELATED = (Relatedness.POSSIBLE, Relatedness.PROBABLE, Relatedness.DEFINITE)


class Seriousness(models.TextChoices):
    """ICH E2A's seriousness criteria."""

    DEATH = "death", _("Results in death")
    LIFE_THREATENING = "life_threatening", _("Is life-threatening")
    HOSPITALISATION = "hospitalisation", _("Requires or prolongs hospitalisation")
    DISABILITY = "disability", _("Results in persistent or significant disability")
    CONGENITAL_ANOMALY = "congenital_anomaly", _("Is a congenital anomaly or birth defect")
    MEDICALLY_IMPORTANT = "medically_important", _("Is otherwise medically important")


class SpecialInterest(models.TextChoices):
    """SPEC §2's adverse events of special interest."""

    NEW_MALIGNANCY = "new_malignancy", _("New malignancy")
    T_CELL_MALIGNANCY = "t_cell_malignancy", _("T-cell malignancy")
    NEUROLOGICAL = "neurological", _("New neurological disorder")
    AUTOIMMUNE = "autoimmune", _("New autoimmune disorder")
    HAEMATOLOGICAL = "haematological", _("New haematological disorder")
    SERIOUS_INFECTION = "serious_infection", _("Serious infection")
    REPLICATION_COMPETENT_VECTOR = "replication_competent_vector", _("Replication-competent vector")


class AdverseEvent(models.Model):
    class Kind(models.TextChoices):
        GENERAL = "general", _("Adverse event (CTCAE)")
        CRS = "crs", _("Cytokine release syndrome (ASTCT)")
        ICANS = "icans", _("Immune effector cell-associated neurotoxicity syndrome (ASTCT)")

    class Outcome(models.TextChoices):
        RECOVERED = "recovered", _("Recovered")
        RECOVERING = "recovering", _("Recovering")
        NOT_RECOVERED = "not_recovered", _("Not recovered")
        RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae", _("Recovered with sequelae")
        FATAL = "fatal", _("Fatal")
        UNKNOWN = "unknown", _("Unknown")

    plan = models.ForeignKey(FollowUpPlan, on_delete=models.PROTECT, related_name="adverse_events")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="adverse_events")
    visit = models.ForeignKey(
        FollowUpVisit, on_delete=models.PROTECT, null=True, blank=True, related_name="adverse_events",
        help_text=_("The visit it was reported at, if any."),
    )  # fmt: skip
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GENERAL)
    term = models.CharField(max_length=200, help_text=_("The event's name, e.g. a MedDRA preferred term."))
    onset_on = models.DateField()
    resolved_on = models.DateField(null=True, blank=True)
    grade = models.PositiveSmallIntegerField(
        help_text=_("CTCAE grade 1-5; for CRS and ICANS the ASTCT grade.")
    )
    grading_criteria = models.JSONField(default=dict, blank=True, help_text=_("ASTCT criteria as asked."))
    grading_reasons = models.JSONField(default=list, blank=True, help_text=_("How the grade was computed."))
    serious = models.BooleanField(default=False)
    seriousness = models.JSONField(default=list, blank=True, help_text=_("Seriousness criteria met."))
    relatedness = models.CharField(max_length=15, choices=Relatedness.choices)
    outcome = models.CharField(max_length=25, choices=Outcome.choices)
    special_interest = models.JSONField(default=list, blank=True)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["patient", "onset_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__gte=1, grade__lte=5), name="adverse_event_grade_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(grade=5, outcome="fatal") | ~Q(grade=5) & ~Q(outcome="fatal"),
                name="adverse_event_grade_5_is_fatal",
            ),
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=models.F("onset_on")),
                name="adverse_event_resolved_after_onset",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.term}, grade {self.grade}, from {self.onset_on}"

    @property
    def is_serious_adverse_reaction(self) -> bool:
        return self.serious and self.relatedness in RELATED

    @property
    def is_of_special_interest(self) -> bool:
        return bool(self.special_interest)


class ExpeditedReport(models.Model):
    """A serious adverse reaction told to the authority within its deadline (SPEC §2): opened with
    the event, submitted by the hospital, acknowledged by the authority."""

    class Status(models.TextChoices):
        OPEN = "open", _("To be submitted")
        SUBMITTED = "submitted", _("Submitted")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")

    adverse_event = models.OneToOneField(
        AdverseEvent, on_delete=models.PROTECT, related_name="expedited_report"
    )
    hospital = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    authority = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="expedited_reports")
    due_on = models.DateField()
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.OPEN)
    narrative = models.TextField(blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["due_on"]
        indexes = [models.Index(fields=["authority", "status", "due_on"], name="expedited_report_queue")]

    def __str__(self) -> str:
        return f"expedited report on {self.adverse_event}, due {self.due_on}"

    @property
    def is_overdue(self) -> bool:
        if self.submitted_at:
            return timezone.localdate(self.submitted_at) > self.due_on
        return timezone.localdate() > self.due_on


class ExportJob(models.Model):
    """A registry export run by a worker (large exports would outlast a request): its progress is
    shown to the analyst, who downloads the file when it is done. The file lies under MEDIA_ROOT
    and is served only through a view that checks who asks."""

    class Format(models.TextChoices):
        VISITS_CSV = "visits", _("Visits (CSV)")
        OUTCOMES_CSV = "outcomes", _("Outcomes (CSV)")
        ADVERSE_EVENTS_CSV = "adverse_events", _("Adverse events (CSV)")
        FHIR_NDJSON = "fhir", _("FHIR R4 resources (NDJSON)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready to download")
        FAILED = "failed", _("Failed")

    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    format = models.CharField(max_length=20, choices=Format.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_expected = models.PositiveIntegerField(null=True, blank=True, help_text=_("Unknown for FHIR."))
    rows_written = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/", max_length=200, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} export of {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def percent(self) -> int | None:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_expected:
            return None
        return min(99, int(100 * self.rows_written / self.rows_expected))

    @property
    def working(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def data_rows(self) -> int:
        """Rows of data written so far, without a CSV file's header line: what the analyst counts."""
        if self.format == self.Format.FHIR_NDJSON:
            return self.rows_written  # one resource a line, no header
        return max(0, self.rows_written - 1)
