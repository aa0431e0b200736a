"""Writes for API tokens: a user creates and revokes their own, and the audit trail says so. The
token itself is shown once, to its user, and never stored or recorded: only knox's digest is kept,
and the audit event names the token by its key (its first characters, as the token page shows)."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from knox.models import AuthToken

from atmp_clinic.accounts.models import User
from atmp_clinic.audit.services import record_event

from .selectors import may_hold_api_tokens

# The lifetimes a token may be given, in days: a token no one revokes still ends within 90 days.
TOKEN_LIFETIME_DAYS = (7, 30, 90)
NO_API_ROLE = "API tokens are for staff: your role does not use the API."
NOT_A_LIFETIME = gettext_noop("Choose one of the offered lifetimes.")  # translated where raised
NOT_YOURS = "This token is not yours."


def _audited(token: AuthToken) -> dict:
    return {"token_key": token.token_key, "expiry": token.expiry}


@transaction.atomic
def api_token_create(*, actor: User, days: int) -> tuple[AuthToken, str]:
    """A new token of the actor's, valid for `days`; returns it with the token, which only the
    caller ever sees."""
    if not may_hold_api_tokens(user=actor):
        raise PermissionDenied(NO_API_ROLE)
    if days not in TOKEN_LIFETIME_DAYS:
        raise ValidationError({"days": gettext(NOT_A_LIFETIME)})
    # Expired tokens authenticate no more; their rows go here rather than on the API's hot path.
    AuthToken.objects.filter(user=actor, expiry__lte=timezone.now()).delete()
    token, secret = AuthToken.objects.create(actor, expiry=timedelta(days=days))
    record_event(actor=actor, obj=actor, action="api_token_created", after=_audited(token))
    return token, secret


@transaction.atomic
def api_token_revoke(*, actor: User, token: AuthToken) -> None:
    """The token stops authenticating at once: its row is deleted, the audit event remains."""
    if token.user_id != actor.pk:
        raise PermissionDenied(NOT_YOURS)
    token.delete()
    record_event(actor=actor, obj=actor, action="api_token_revoked", after=_audited(token))
