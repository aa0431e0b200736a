from django.db.models import Prefetch, QuerySet

from atmp_clinic.accounts.models import Role, User
from atmp_clinic.accounts.selectors import active_membership, visible_to
from atmp_clinic.exemptions.models import APPROVED_STATES, ExemptionRequest
from atmp_clinic.patients.models import Patient

from .models import Administration, Batch, Collection, ReleaseResult
from .services import missing_results


def batches_visible_to(*, user: User) -> QuerySet[Batch]:
    return visible_to(
        user=user, queryset=Batch.objects.select_related("request__patient", "request__product", "collection")
    )


def batches_in_testing(*, user: User) -> QuerySet[Batch]:
    """The pharmacist's worklist: batches still to be tested and released, oldest first."""
    return batches_visible_to(user=user).filter(status=Batch.Status.IN_TESTING).order_by("created_at")


def chain_of(*, request: ExemptionRequest) -> list[Collection]:
    """The request's collections, each with its batches and their administration."""
    return list(
        request.collections.prefetch_related(
            Prefetch(
                "batches", queryset=Batch.objects.select_related("administration").order_by("created_at")
            )
        )
    )


def may_take_step(*, user: User, batch: Batch, step: str, membership=None) -> bool:
    """Whether the step is this person's at all, whatever the batch's state now."""
    membership = membership or active_membership(user=user)
    if not membership or membership.organisation_id != batch.request.hospital_id:
        return False
    if step in ("record_result", "correct_result"):
        return membership.role == Role.PHARMACIST
    if step == "justify_exceptional_release":
        return batch.request.responsible_physician_id == user.pk
    if step == "release":
        return membership.role == Role.PHARMACIST and membership.is_qualified_person
    if step == "correct_collection":
        return membership.role in (Role.PHARMACIST, Role.CLINICIAN)
    return step in ("administer", "correct_administration") and membership.role == Role.CLINICIAN


def batch_steps(*, user: User, batch: Batch) -> list[str]:
    """The steps this person may take on the batch now (the services check again)."""
    membership = active_membership(user=user)
    if not membership or membership.organisation_id != batch.request.hospital_id:
        return []
    testing = batch.status == Batch.Status.IN_TESTING
    open_now = {
        "record_result": testing and bool(missing_results(batch=batch)),
        "correct_result": testing and batch.results.exists(),
        "justify_exceptional_release": testing and batch.results.filter(passed=False).exists(),
        "release": testing,
        "administer": batch.is_released and batch.request.state in APPROVED_STATES,
        "correct_collection": True,
        "correct_administration": batch.status == Batch.Status.ADMINISTERED,
    }
    return [
        step
        for step, is_open in open_now.items()
        if is_open and may_take_step(user=user, batch=batch, step=step, membership=membership)
    ]


def traceability(*, patient: Patient) -> list[dict]:
    """Everything from request to administration for one patient, in order, for a printed record."""
    requests = patient.exemption_requests.select_related("product", "decision").order_by("created_at")
    return [
        {
            "request": request,
            "collections": chain_of(request=request),
            "results": ReleaseResult.objects.filter(batch__request=request).select_related("test", "batch"),
            "administrations": Administration.objects.filter(request=request).select_related(
                "batch", "administered_by"
            ),
        }
        for request in requests
    ]


def notified_administrations(*, user: User) -> QuerySet[Administration]:
    """For an authority whose rules ask for it: every administration of its requests, newest first."""
    visible = visible_to(user=user, queryset=ExemptionRequest.objects.all())
    return (
        Administration.objects.filter(request__in=visible, authority_notified=True)
        .select_related("patient", "batch", "request__product", "request__hospital")
        .order_by("-administered_at")
    )
