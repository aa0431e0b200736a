"""Reads for API tokens: who may hold them, and a user's own."""

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone
from knox.models import AuthToken

from atmp_clinic.accounts.models import Membership, Role, User


def api_memberships(*, user: User) -> QuerySet[Membership]:
    """The user's active roles that use the API: every one but patient, whose visits are in the
    portal and whom the API's endpoints answer 404."""
    return Membership.objects.filter(user=user, ended_at__isnull=True).exclude(role=Role.PATIENT)


def may_hold_api_tokens(*, user: User | AnonymousUser) -> bool:
    return user.is_authenticated and user.is_active and api_memberships(user=user).exists()


def live_api_tokens(*, user: User) -> QuerySet[AuthToken]:
    """The user's tokens that still authenticate, newest first: an expired one is refused, so it is
    not listed."""
    return AuthToken.objects.filter(
        Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()), user=user
    ).order_by("-created")
