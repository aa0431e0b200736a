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
    return user.has_perm("patients.view_identity", patient)
