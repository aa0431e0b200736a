"""Writes to the registry: a visit's outcome, adverse events (CRS and ICANS graded from the ASTCT
criteria), and the expedited report a serious adverse reaction opens. Only the clinicians of the
patient's hospital record; the hospital submits reports, the authority acknowledges them. Every
write is audited."""

import dataclasses
import logging
import tempfile
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_noop

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.accounts.selectors import has_role_in
from atmp_clinic.audit.services import record_event
from atmp_clinic.celery import delay_or_leave_for_sweep
from atmp_clinic.followup import services as followup_services
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit, VisitDraft
from atmp_clinic.patients import services as patient_services

from .grading import CrsCriteria, Grading, IcansCriteria, eq5d5l_profile, grade_crs, grade_icans
from .models import (
    AdverseEvent,
    ExpeditedReport,
    ExportJob,
    OutcomeRecord,
    Section,
    Seriousness,
    SpecialInterest,
)

logger = logging.getLogger(__name__)

# The language grading reasons are stored in: the API, the exports and the audit trail must not depend
# on the language of whoever recorded the event. Pages translate them again when shown.
RECORD_LANGUAGE = "en"

NOT_A_CLINICIAN = "Only a clinician of the patient's hospital records outcomes and adverse events."
# Which fields each section of a visit fills (the sections come from the visit's template).
SECTION_FIELDS = {
    Section.VITAL_STATUS: ("vital_status", "date_of_death", "cause_of_death"),
    Section.DISEASE_RESPONSE: ("disease_response",),
    Section.ECOG: ("ecog",),
    Section.LABORATORY: ("vector_copy_number", "car_t_persistence", "b_cell_aplasia", "igg_g_per_l"),
    Section.QUALITY_OF_LIFE: (
        "eq5d_mobility", "eq5d_self_care", "eq5d_usual_activities", "eq5d_pain_discomfort",
        "eq5d_anxiety_depression", "eq5d_vas",
    ),
    Section.REPLICATION_COMPETENT_VECTOR: ("replication_competent_vector",),
}  # fmt: skip
EQ5D_FIELDS = SECTION_FIELDS[Section.QUALITY_OF_LIFE][:5]


def _require_clinician(actor: User, patient) -> None:
    if not has_role_in(user=actor, organisation=patient.hospital, roles={Role.CLINICIAN}):
        raise PermissionDenied(NOT_A_CLINICIAN)


# Each date's two refusals, as whole sentences so that each language can word them.
DATE_REFUSALS = {
    "date of death": (
        gettext_noop("The date of death cannot be before the administration on %(day)s."),
        gettext_noop("The date of death cannot be in the future."),
    ),
    "onset": (
        gettext_noop("The onset cannot be before the administration on %(day)s."),
        gettext_noop("The onset cannot be in the future."),
    ),
    "resolution": (
        gettext_noop("The resolution cannot be before the administration on %(day)s."),
        gettext_noop("The resolution cannot be in the future."),
    ),
}


def _check_date(value: date | None, *, field: str, what: str, plan: FollowUpPlan) -> None:
    if value is None:
        return
    before_administration, in_future = DATE_REFUSALS[what]
    if value < plan.starts_on:
        raise ValidationError(
            {field: gettext(before_administration) % {"day": date_format(plan.starts_on, "d F Y")}}
        )
    if value > timezone.localdate():
        raise ValidationError({field: gettext(in_future)})


def visit_sections(visit: FollowUpVisit) -> list[str]:
    """The outcome sections this visit asks for, in the order of its template."""
    return [section for section in visit.collects if section in SECTION_FIELDS]


@transaction.atomic
def outcome_record(*, actor: User, visit: FollowUpVisit, **fields) -> OutcomeRecord:
    """What the visit found, section by section as its template asks. A death recorded here is the
    patient's death: it ends their follow-up."""
    visit = (
        FollowUpVisit.objects.select_for_update(of=("self",))
        .select_related("plan__patient__hospital")
        .get(pk=visit.pk)
    )
    plan, patient = visit.plan, visit.plan.patient
    _require_clinician(actor, patient)
    if visit.status != FollowUpVisit.Status.COMPLETED:
        raise ValidationError(gettext("Record that the visit took place before its outcome."))
    if OutcomeRecord.objects.filter(visit=visit).exists():
        raise ValidationError(gettext("This visit's outcome is already recorded."))
    asked = {name for section in visit_sections(visit) for name in SECTION_FIELDS[section]}
    given = {name: value for name, value in fields.items() if value not in (None, "")}
    if unasked := sorted(set(given) - asked):
        raise ValidationError(
            gettext("This visit does not collect: %(sections)s.") % {"sections": ", ".join(unasked)}
        )
    if "vital_status" in asked and "vital_status" not in given:
        raise ValidationError({"vital_status": gettext("Say whether the patient is alive.")})
    if given.get("vital_status") == OutcomeRecord.VitalStatus.DEAD:
        if "date_of_death" not in given:
            raise ValidationError({"date_of_death": gettext("Give the date of death.")})
        _check_date(given["date_of_death"], field="date_of_death", what="date of death", plan=plan)
    elif "date_of_death" in given or "cause_of_death" in given:
        raise ValidationError(
            {"date_of_death": gettext("A date and cause of death go with the vital status 'dead'.")}
        )
    if any(name in given for name in (*EQ5D_FIELDS, "eq5d_vas")):  # all five dimensions and the VAS, or none
        levels = {name.removeprefix("eq5d_"): given.get(name) for name in EQ5D_FIELDS}
        try:
            eq5d5l_profile(levels, given.get("eq5d_vas"))
        except ValueError as error:
            raise ValidationError(f"EQ-5D-5L: {error}") from None
    outcome = OutcomeRecord(visit=visit, patient=patient, recorded_by=actor, **given)
    outcome.full_clean(exclude=["visit", "patient", "recorded_by"])
    outcome.save()
    followup_services.drafts_discard(visit=visit, form=VisitDraft.Form.OUTCOME)
    record_event(actor=actor, obj=outcome, action="outcome_recorded", after=given)
    if outcome.vital_status == OutcomeRecord.VitalStatus.DEAD and not patient.date_of_death:
        patient_services.patient_record_death(
            actor=actor, patient=patient, date_of_death=outcome.date_of_death
        )
    return outcome


def adverse_event_grading(*, kind: str, criteria: CrsCriteria | IcansCriteria, fatal: bool) -> Grading:
    """The grade of a CRS or ICANS event and how it was reached, in the active language. A fatal
    outcome makes any graded event grade 5."""
    grading = grade_crs(criteria) if kind == AdverseEvent.Kind.CRS else grade_icans(criteria)
    if fatal and grading.grade:  # ASTCT: grade 5 is death from the syndrome, which the clinician records
        return Grading(grade=5, reasons=[*grading.reasons, gettext("Fatal outcome: grade 5.")])
    return grading


def _grading(
    kind: str, *, crs: CrsCriteria | None, icans: IcansCriteria | None, fatal: bool
) -> tuple[int, dict, list]:
    criteria = crs if kind == AdverseEvent.Kind.CRS else icans
    with translation.override(RECORD_LANGUAGE):
        grading = adverse_event_grading(kind=kind, criteria=criteria, fatal=fatal)
    if grading.grade == 0:
        # A refusal is read by the person recording: in their language.
        refusal = adverse_event_grading(kind=kind, criteria=criteria, fatal=fatal)
        raise ValidationError({"grade": " ".join(refusal.reasons)})
    return grading.grade, dataclasses.asdict(criteria), grading.reasons


@transaction.atomic
def adverse_event_record(
    *,
    actor: User,
    plan: FollowUpPlan,
    term: str,
    onset_on: date,
    relatedness: str,
    outcome: str,
    kind: str = AdverseEvent.Kind.GENERAL,
    grade: int | None = None,
    crs: CrsCriteria | None = None,
    icans: IcansCriteria | None = None,
    serious: bool = False,
    seriousness: list[str] | tuple = (),
    special_interest: list[str] | tuple = (),
    resolved_on: date | None = None,
    visit: FollowUpVisit | None = None,
) -> AdverseEvent:
    """An adverse event after the administration. A serious one that may be related to the product
    (a serious adverse reaction) opens an expedited report to the authority."""
    plan = FollowUpPlan.objects.select_related("patient__hospital", "administration__request__authority").get(
        pk=plan.pk
    )
    patient = plan.patient
    _require_clinician(actor, patient)
    if visit is not None and visit.plan_id != plan.pk:
        raise ValidationError({"visit": gettext("That visit belongs to another patient's plan.")})
    _check_date(onset_on, field="onset_on", what="onset", plan=plan)
    if resolved_on is not None and resolved_on < onset_on:
        raise ValidationError({"resolved_on": gettext("An event cannot resolve before its onset.")})
    _check_date(resolved_on, field="resolved_on", what="resolution", plan=plan)
    if patient.date_of_death and onset_on > patient.date_of_death:
        raise ValidationError(
            {
                "onset_on": gettext("The patient died on %(day)s.")
                % {"day": date_format(patient.date_of_death, "d F Y")}
            }
        )
    fatal = outcome == AdverseEvent.Outcome.FATAL
    criteria, reasons = {}, []
    if kind in (AdverseEvent.Kind.CRS, AdverseEvent.Kind.ICANS):
        if (crs if kind == AdverseEvent.Kind.CRS else icans) is None:
            raise ValidationError(
                {"grade": gettext("Answer the ASTCT criteria: the grade is computed from them.")}
            )
        grade, criteria, reasons = _grading(kind, crs=crs, icans=icans, fatal=fatal)
    elif grade is None or not 1 <= grade <= 5:
        raise ValidationError({"grade": gettext("The CTCAE grade is 1 to 5.")})
    if grade == 5 and not fatal:
        raise ValidationError(
            {"outcome": gettext("Grade 5 is death related to the event: the outcome must be fatal.")}
        )
    if fatal and grade != 5:
        raise ValidationError({"grade": gettext("A fatal event is grade 5.")})
    seriousness, special_interest = sorted(set(seriousness)), sorted(set(special_interest))
    if unknown := set(seriousness) - set(Seriousness.values):
        raise ValidationError(
            {
                "seriousness": gettext("Unknown seriousness criteria: %(criteria)s.")
                % {"criteria": ", ".join(sorted(unknown))}
            }
        )
    if unknown := set(special_interest) - set(SpecialInterest.values):
        raise ValidationError(
            {"special_interest": gettext("Unknown: %(values)s.") % {"values": ", ".join(sorted(unknown))}}
        )
    if fatal and Seriousness.DEATH not in seriousness:
        raise ValidationError({"seriousness": gettext("A fatal event is serious: it results in death.")})
    if Seriousness.DEATH in seriousness and not fatal:
        raise ValidationError({"outcome": gettext("An event that results in death has a fatal outcome.")})
    if serious and not seriousness:
        raise ValidationError({"seriousness": gettext("Say which seriousness criteria the event meets.")})
    if seriousness and not serious:
        raise ValidationError({"serious": gettext("An event that meets seriousness criteria is serious.")})
    event = AdverseEvent(
        plan=plan, patient=patient, visit=visit, kind=kind, term=term.strip(), onset_on=onset_on,
        resolved_on=resolved_on, grade=grade, grading_criteria=criteria, grading_reasons=reasons,
        serious=serious, seriousness=seriousness, relatedness=relatedness, outcome=outcome,
        special_interest=special_interest, recorded_by=actor,
    )  # fmt: skip
    event.full_clean(exclude=["plan", "patient", "visit", "recorded_by"])
    event.save()
    record_event(
        actor=actor, obj=event, action="adverse_event_recorded",
        after={"term": event.term, "kind": kind, "grade": grade, "serious": serious, "seriousness": seriousness,
               "relatedness": relatedness, "outcome": outcome, "special_interest": special_interest},
    )  # fmt: skip
    if event.is_serious_adverse_reaction:
        _open_expedited_report(event, actor=actor)
    return event


def _open_expedited_report(event: AdverseEvent, *, actor: User) -> ExpeditedReport:
    authority = event.plan.administration.request.authority
    # Every authority states both deadlines (SPEC §2's defaults are 15 and 7 days).
    urgent = {Seriousness.DEATH, Seriousness.LIFE_THREATENING} & set(event.seriousness)
    deadline = authority.expedited_report_deadline_fatal if urgent else authority.expedited_report_deadline
    # The clock starts when the hospital learns of it: when the event is recorded.
    report = ExpeditedReport.objects.create(
        adverse_event=event, hospital=event.patient.hospital, authority=authority,
        due_on=timezone.localdate(timezone.now() + deadline),
    )  # fmt: skip
    record_event(actor=actor, obj=report, action="expedited_report_opened", after={"due_on": report.due_on})
    return report


@transaction.atomic
def expedited_report_submit(*, actor: User, report: ExpeditedReport, narrative: str) -> ExpeditedReport:
    report = ExpeditedReport.objects.select_for_update().get(pk=report.pk)
    if not has_role_in(user=actor, organisation=report.hospital, roles={Role.CLINICIAN, Role.PHARMACIST}):
        raise PermissionDenied("Only the staff of the patient's hospital submit its expedited reports.")
    if report.status != ExpeditedReport.Status.OPEN:
        raise ValidationError(
            gettext("This report is already %(status)s.") % {"status": report.get_status_display().lower()}
        )
    narrative = narrative.strip()
    if not narrative:
        raise ValidationError(
            {"narrative": gettext("Describe the case: what happened, when, what was done.")}
        )
    report.status, report.narrative = ExpeditedReport.Status.SUBMITTED, narrative
    report.submitted_at, report.submitted_by = timezone.now(), actor
    report.save()
    record_event(
        actor=actor, obj=report, action="expedited_report_submitted",
        after={"late": report.is_overdue, "due_on": report.due_on},
    )  # fmt: skip
    return report


@transaction.atomic
def expedited_report_acknowledge(*, actor: User, report: ExpeditedReport) -> ExpeditedReport:
    report = ExpeditedReport.objects.select_for_update().get(pk=report.pk)
    if not has_role_in(user=actor, organisation=report.authority, roles={Role.REVIEWER}):
        raise PermissionDenied("Only the authority's reviewers acknowledge its expedited reports.")
    if report.status != ExpeditedReport.Status.SUBMITTED:
        raise ValidationError(gettext("Only a submitted report can be acknowledged."))
    report.status = ExpeditedReport.Status.ACKNOWLEDGED
    report.acknowledged_at, report.acknowledged_by = timezone.now(), actor
    report.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
    record_event(actor=actor, obj=report, action="expedited_report_acknowledged")
    return report


EXPORT_PROGRESS_EVERY = 1000  # rows between progress writes: often enough to watch, rarely enough to be cheap


@transaction.atomic
def export_request(*, actor: User, format: str) -> ExportJob:
    """An analyst asks for an export; a worker writes it (see export_run)."""
    from . import exports

    if not exports.may_export(actor):
        raise PermissionDenied("Only registry analysts export registry data.")
    if format not in ExportJob.Format.values:
        raise ValidationError({"format": gettext("Choose one of the exports offered.")})
    job = ExportJob.objects.create(requested_by=actor, format=format)
    record_event(actor=actor, obj=job, action="export_requested", after={"format": format})
    transaction.on_commit(lambda: _enqueue_export(job.pk))
    return job


def _enqueue_export(job_id: int) -> None:
    from .tasks import run_export

    delay_or_leave_for_sweep(run_export, job_id)


def exports_waiting(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Jobs still queued a while after they were asked for: enqueued while the broker was down."""
    cutoff = timezone.now() - older_than
    return list(
        ExportJob.objects.filter(status=ExportJob.Status.QUEUED, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )


def export_run(job_id: int) -> ExportJob | None:
    """Write the export's file, row by row in constant memory, with its progress on the job. Runs
    once: a redelivered task finds the job no longer queued."""
    from django.core.files.base import File

    from . import exports, fhir

    if not ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING
    ):
        return None
    job = ExportJob.objects.get(pk=job_id)
    is_fhir = job.format == ExportJob.Format.FHIR_NDJSON
    name = f"registry-{job.format}-{job.created_at:%Y%m%d-%H%M%S}-{job.pk}.{'ndjson' if is_fhir else 'csv'}"
    try:
        if not is_fhir:
            job.rows_expected = exports.row_count(job.format)
            job.save(update_fields=["rows_expected"])
        lines = fhir.ndjson_lines() if is_fhir else exports.csv_lines(job.format)
        with tempfile.TemporaryFile("w+b") as spool:
            for count, line in enumerate(lines, start=1):
                spool.write(line.encode())
                if count % EXPORT_PROGRESS_EVERY == 0:
                    ExportJob.objects.filter(pk=job.pk).update(rows_written=count)
                job.rows_written = count
            spool.seek(0)
            job.file.save(name, File(spool), save=False)
    except Exception as error:
        job.status, job.error, job.finished_at = (
            ExportJob.Status.FAILED,
            f"{error.__class__.__name__}: {error}",
            timezone.now(),
        )
        job.save(update_fields=["status", "error", "finished_at", "rows_written"])
        raise
    job.status, job.finished_at = ExportJob.Status.DONE, timezone.now()
    job.save(update_fields=["status", "file", "rows_written", "finished_at"])
    return job
