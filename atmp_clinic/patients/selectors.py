from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from atmp_clinic.accounts.models import User
from atmp_clinic.accounts.selectors import visible_to

from .models import Consent, Patient


def patients_visible_to(*, user: User) -> QuerySet[Patient]:
    """Patients with what their lists show: identity and the consents in force, in three queries."""
    return visible_to(
        user=user, queryset=Patient.objects.select_related("hospital", "identity")
    ).prefetch_related(
        Prefetch(
            "consents", queryset=Consent.objects.filter(withdrawn_on__isnull=True), to_attr="active_consents"
        )
    )


def can_see_identity(*, user: User, patient: Patient) -> bool:
    """By grant only, like every read here: superuser status shows no patient's identity."""
    return patient.pk in ids_with_identity_visible_to(user=user, patients=[patient])


def ids_with_identity_visible_to(*, user: User, patients: Iterable[Patient]) -> set[int]:
    """Which of `patients` `user` may see the identity of, in one query: can_see_identity for a list,
    which would otherwise check each patient's permissions with queries of its own."""
    return set(
        visible_to(
            user=user, queryset=Patient.objects.filter(pk__in=[p.pk for p in patients]), perm="view_identity"
        )
        .order_by()  # a set needs no order, and the default one joins the hospital
        .values_list("pk", flat=True)
    )
