"""Dashboards (SPEC §6): who has one, which follow-up plans it covers, and the figures drawn from
them. Every figure is an aggregate computed by the database in one query, so a dashboard costs the
same few queries for ten plans or ten thousand.

Scopes: a registry analyst sees the patients who consent to the registry; an authority's reviewers
the plans under the requests addressed to it (its country); a hospital's pharmacists and clinicians
their own hospital's plans. Patients and administrators have no dashboard.

The page shows each scope's figures as computed at most FIGURES_KEPT_FOR ago, with that time: at
registry volume the figures read every visit (2.26 million, over a second), which no page view
should wait for. Beat recomputes the registry's figures every few minutes, and withdrawing a
registry consent drops them at once, so a withdrawn patient never stays in the analyst's figures."""

import logging
import threading
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy
from redis.exceptions import RedisError

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.accounts.selectors import active_membership
from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit
from atmp_clinic.patients.models import Consent, ConsentKind
from atmp_clinic.products.models import AtmpClass

from .models import AdverseEvent

GRADES = (1, 2, 3, 4, 5)
DAYS_PER_MONTH = 365.25 / 12  # survival is counted in days and shown in months
HOSPITAL_ROLES = (Role.PHARMACIST, Role.CLINICIAN)


REGISTRY_SCOPE = "registry"


def _scope(*, user: User) -> tuple[str, QuerySet[FollowUpPlan]] | None:
    """The name of the user's dashboard scope (equal names, equal plans) and its plans."""
    if not user.is_authenticated or not user.is_active:
        return None
    membership = active_membership(user=user)
    if membership is None:
        return None
    plans = FollowUpPlan.objects.all()
    if membership.role == Role.ANALYST:
        return REGISTRY_SCOPE, registry_plans()
    if membership.role == Role.REVIEWER:
        return (
            f"authority-{membership.organisation_id}",
            plans.filter(administration__request__authority_id=membership.organisation_id),
        )
    if membership.role in HOSPITAL_ROLES:
        return f"hospital-{membership.organisation_id}", plans.filter(
            patient__hospital_id=membership.organisation_id
        )
    return None


def registry_plans() -> QuerySet[FollowUpPlan]:
    """The plans of the patients who consent to the registry: the analyst's scope."""
    # Registry data is used only while the patient's registry consent stands (SPEC §6).
    consenting = Consent.objects.filter(
        patient=OuterRef("patient"), kind=ConsentKind.REGISTRY, withdrawn_on__isnull=True
    )
    return FollowUpPlan.objects.filter(Exists(consenting))


def dashboard_scope(*, user: User) -> QuerySet[FollowUpPlan] | None:
    """The plans the user's dashboard covers; None when the user has no dashboard."""
    found = _scope(user=user)
    return None if found is None else found[1]


# --- Patients treated ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreatedRow:
    hospital: str
    by_class: list[int]  # in the order of TreatedTable.classes
    total: int


@dataclass(frozen=True)
class TreatedTable:
    classes: list[tuple[str, str]]  # (code, label)
    rows: list[TreatedRow]
    class_totals: list[int]
    total: int


def treated_by_class_and_hospital(plans: QuerySet[FollowUpPlan]) -> TreatedTable:
    """Patients treated, per hospital and ATMP class, in one query. A patient given two products
    counts once in their hospital's total and once in each class."""
    by_class = {
        code: Count("patient", distinct=True, filter=Q(administration__request__product__atmp_class=code))
        for code in AtmpClass.values
    }
    grouped = (
        plans.order_by()
        .values("patient__hospital_id", "patient__hospital__name")
        .annotate(total=Count("patient", distinct=True), **by_class)
        .order_by("patient__hospital__name")
    )
    rows = [
        TreatedRow(
            hospital=row["patient__hospital__name"],
            by_class=[row[code] for code in AtmpClass.values],
            total=row["total"],
        )
        for row in grouped
    ]
    # A patient belongs to one hospital, so summing hospitals never counts anyone twice.
    class_totals = [sum(row.by_class[index] for row in rows) for index in range(len(AtmpClass.values))]
    return TreatedTable(
        classes=list(AtmpClass.choices),
        rows=rows,
        class_totals=class_totals,
        total=sum(row.total for row in rows),
    )


# --- Follow-up compliance --------------------------------------------------------------------------


@dataclass(frozen=True)
class Compliance:
    hospital: str
    due: int
    done_in_window: int
    done_late: int  # completed, but outside the protocol's window
    missed: int

    @property
    def ratio(self) -> float | None:
        return self.done_in_window / self.due if self.due else None

    @property
    def percent(self) -> int | None:
        return None if self.ratio is None else round(self.ratio * 100)


def follow_up_compliance(plans: QuerySet[FollowUpPlan], today: date) -> tuple[Compliance, list[Compliance]]:
    """Visits done in their window over visits due so far: overall and per hospital, in one query.

    A visit is due once its protocol date has passed (the date of the plan, kept in
    originally_due_on when the appointment was moved), so rescheduling a visit beyond its window
    cannot take it out of the count; cancelled visits are not due."""
    protocol_due_on = Coalesce("originally_due_on", "due_on")
    due = Q(protocol_due_on__lte=today) & ~Q(status=FollowUpVisit.Status.CANCELLED)
    completed = due & Q(status=FollowUpVisit.Status.COMPLETED)
    in_window = Q(performed_on__gte=F("window_opens_on"), performed_on__lte=F("window_closes_on"))
    grouped = (
        FollowUpVisit.objects.filter(plan__in=plans.values("pk"))
        .annotate(protocol_due_on=protocol_due_on)
        .order_by()
        .values("plan__patient__hospital_id", "plan__patient__hospital__name")
        .annotate(
            due=Count("pk", filter=due),
            done_in_window=Count("pk", filter=completed & in_window),
            done_late=Count("pk", filter=completed & ~in_window),
            missed=Count("pk", filter=due & Q(status=FollowUpVisit.Status.MISSED)),
        )
        .order_by("plan__patient__hospital__name")
    )
    per_hospital = [
        Compliance(
            hospital=row["plan__patient__hospital__name"],
            due=row["due"],
            done_in_window=row["done_in_window"],
            done_late=row["done_late"],
            missed=row["missed"],
        )
        for row in grouped
    ]
    overall = Compliance(
        # Lazy: the figures are kept (pickled) and shown in each viewer's language.
        hospital=gettext_lazy("All hospitals"),
        due=sum(row.due for row in per_hospital),
        done_in_window=sum(row.done_in_window for row in per_hospital),
        done_late=sum(row.done_late for row in per_hospital),
        missed=sum(row.missed for row in per_hospital),
    )
    return overall, per_hospital


# --- Adverse events --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeCount:
    grade: int
    events: int
    patients: int  # patients with at least one event of this grade


@dataclass(frozen=True)
class AdverseEventSummary:
    grades: list[GradeCount]
    serious: int
    total: int


def adverse_events_by_grade(plans: QuerySet[FollowUpPlan]) -> AdverseEventSummary:
    """Adverse events by CTCAE / ASTCT grade 1-5, with the patients affected and the serious ones,
    in one query."""
    counts = {}
    for grade in GRADES:
        counts[f"events_{grade}"] = Count("pk", filter=Q(grade=grade))
        counts[f"patients_{grade}"] = Count("patient", distinct=True, filter=Q(grade=grade))
    totals = AdverseEvent.objects.filter(plan__in=plans.values("pk")).aggregate(
        total=Count("pk"), serious=Count("pk", filter=Q(serious=True)), **counts
    )
    return AdverseEventSummary(
        grades=[
            GradeCount(grade=grade, events=totals[f"events_{grade}"], patients=totals[f"patients_{grade}"])
            for grade in GRADES
        ],
        serious=totals["serious"],
        total=totals["total"],
    )


# --- Overall survival ------------------------------------------------------------------------------


def survival_data(plans: QuerySet[FollowUpPlan], today: date) -> tuple[list[int], list[bool]]:
    """One (duration in days, died) pair per patient, for Kaplan–Meier overall survival.

    Time runs from the patient's first administration (day 0 of their earliest plan) to their death,
    or is censored when follow-up stops: today for a plan still running, its end date for one ended
    early (e.g. consent withdrawn) or completed. A death after follow-up stopped is not counted: it
    was not observed under the plan."""
    followed_until = Coalesce("ended_on", "ends_on")
    rows = (
        plans.order_by()
        .values("patient_id")
        .annotate(
            started=Min("starts_on"),
            followed_until=Max(followed_until),
            date_of_death=Max("patient__date_of_death"),
            ended_by_death=Max("ended_on", filter=Q(end_reason=FollowUpPlan.EndReason.DEATH)),
        )
        .order_by("patient_id")
    )
    durations, events = [], []
    for row in rows:  # one row per patient: lifelines needs the pairs themselves
        death = row["date_of_death"] or row["ended_by_death"]
        censored_on = min(row["followed_until"], today)
        died = death is not None and death <= censored_on
        end = death if died else censored_on
        durations.append(max((end - row["started"]).days, 0))
        events.append(died)
    return durations, events


@dataclass(frozen=True)
class SurvivalEstimate:
    months: int
    survival: float
    lower: float  # 95 % confidence interval
    upper: float


@dataclass(frozen=True)
class SurvivalSummary:
    patients: int
    deaths: int
    estimates: list[SurvivalEstimate]  # only at times someone was still followed


SURVIVAL_MILESTONES = (6, 12, 24, 60)  # months

# lifelines, numpy, scipy and matplotlib take seconds to import, so they are imported on first use
# rather than by every manage.py command and test run. Two threads of one server process importing
# numpy at once can leave it half-imported for good (ImportError, then RecursionError on every later
# chart: found by bench/load.py), so those first imports take turns.
SCIENTIFIC_IMPORTS = threading.Lock()


def survival_summary(durations: list[int], events: list[bool]) -> SurvivalSummary:
    """The Kaplan–Meier estimate at set times, as numbers, for the page and the report's tables."""
    if not durations:
        return SurvivalSummary(patients=0, deaths=0, estimates=[])
    with SCIENTIFIC_IMPORTS:
        from lifelines import KaplanMeierFitter

    fitter = KaplanMeierFitter(alpha=0.05).fit([days / DAYS_PER_MONTH for days in durations], events)
    band = fitter.confidence_interval_survival_function_
    longest = max(durations) / DAYS_PER_MONTH
    estimates = []
    for months in SURVIVAL_MILESTONES:
        if months > longest:  # beyond the last follow-up the curve says nothing
            break
        lower, upper = band.loc[:months].iloc[-1]
        estimates.append(
            SurvivalEstimate(
                months=months,
                survival=float(fitter.survival_function_at_times(months).iloc[0]),
                lower=float(lower),
                upper=float(upper),
            )
        )
    return SurvivalSummary(patients=len(durations), deaths=sum(events), estimates=estimates)


@dataclass(frozen=True)
class Dashboard:
    treated: TreatedTable
    compliance: Compliance
    compliance_by_hospital: list[Compliance]
    adverse_events: AdverseEventSummary
    survival: SurvivalSummary


def dashboard_figures(plans: QuerySet[FollowUpPlan], today: date) -> Dashboard:
    """Everything the dashboard page shows, in four queries whatever the number of plans."""
    compliance, by_hospital = follow_up_compliance(plans, today)
    return Dashboard(
        treated=treated_by_class_and_hospital(plans),
        compliance=compliance,
        compliance_by_hospital=by_hospital,
        adverse_events=adverse_events_by_grade(plans),
        survival=survival_summary(*survival_data(plans, today)),
    )


# --- Kept figures ----------------------------------------------------------------------------------

FIGURES_KEPT_FOR = timedelta(minutes=15)  # the oldest figures a page may show
# Redis down (production), or the file cache's directory failing (make run): pages go on without it.
CACHE_DOWN = (RedisError, OSError)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeptDashboard:
    figures: Dashboard
    as_of: datetime  # when they were computed


def _figures_key(scope: str, today: date) -> str:
    if scope != REGISTRY_SCOPE:
        return f"dashboard-figures:{scope}:{today.isoformat()}"
    # The generation is read before the figures are computed: figures computed from a snapshot taken
    # before a consent's withdrawal are stored under the old generation, which nobody reads again.
    generation = cache.get_or_set(REGISTRY_GENERATION_KEY, "first", timeout=None)
    return f"dashboard-figures:{scope}:{today.isoformat()}:{generation}"


REGISTRY_GENERATION_KEY = "dashboard-figures:registry-generation"


def _compute_and_keep(key: str | None, plans: QuerySet[FollowUpPlan], today: date) -> KeptDashboard:
    kept = KeptDashboard(figures=dashboard_figures(plans, today), as_of=timezone.now())
    if key is not None:
        with suppress(*CACHE_DOWN):
            cache.set(key, kept, timeout=FIGURES_KEPT_FOR.total_seconds())
    return kept


def kept_dashboard(*, user: User, today: date) -> KeptDashboard | None:
    """The figures of the user's dashboard as of at most FIGURES_KEPT_FOR ago (computed now when
    none are kept, or when the cache is down: slower then, never refused); None when the user has
    no dashboard."""
    found = _scope(user=user)
    if found is None:
        return None
    scope, plans = found
    try:
        key = _figures_key(scope, today)
        kept = cache.get(key)
    except CACHE_DOWN:
        logger.warning("The cache is unreachable: dashboard figures computed for this page view")
        key = kept = None
    return kept or _compute_and_keep(key, plans, today)


def registry_figures_refresh(*, today: date) -> KeptDashboard:
    """Computes the analyst's figures again (beat, every few minutes), so no page view waits for them."""
    return _compute_and_keep(_figures_key(REGISTRY_SCOPE, today), registry_plans(), today)


def registry_figures_forget() -> None:
    """Makes the analyst's kept figures unreadable, e.g. once a registry consent is withdrawn: their
    next page view computes them without that patient."""
    cache.set(REGISTRY_GENERATION_KEY, uuid.uuid4().hex, timeout=None)  # never one used before
