"""`Authorization: Token <token>`: django-rest-knox's tokens, of which only a SHA-512 digest is
stored. A user holds several, each with its own expiry, and revokes each on their own page
(`api-token-list`). A token is the user: the same object permissions apply as to their session.

A token authenticates only while its user is active: deactivating the account refuses every token
of theirs at once (401). Ending a membership takes the user out of their organisation's groups, and
so their token sees nothing any more (empty lists, 404), as their session would."""

import binascii

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox import auth
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.authentication import get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from atmp_clinic.accounts.models import User

from .throttling import FailedTokenThrottle

INVALID_TOKEN = "Invalid or expired token."  # noqa: S105 - a message  # nosec B105
INACTIVE_USER = "The token's user is inactive."


class TokenAuthentication(auth.TokenAuthentication):
    def authenticate(self, request: Request) -> tuple[User, AuthToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.authenticate_header(request).encode().lower():
            return None  # a session or an anonymous caller: not ours to judge
        # An address that keeps presenting wrong tokens spends the anonymous budget and is then
        # answered 429 before any lookup: the API is no oracle for guessing tokens.
        throttle = FailedTokenThrottle()
        if throttle.exhausted(request):
            raise Throttled(wait=throttle.wait())
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            throttle.charge(request)
            raise

    def authenticate_credentials(self, token: bytes) -> tuple[User, AuthToken]:
        """One query, by the digest (the primary key), for the token and its user. Knox's own version
        also sweeps the user's other expired tokens on every request; here an expired token is
        refused and left for `api_token_create` to delete."""
        try:
            digest = hash_token(token.decode())
        except (UnicodeDecodeError, TypeError, binascii.Error):
            raise AuthenticationFailed(INVALID_TOKEN) from None
        auth_token = AuthToken.objects.select_related("user").filter(digest=digest).first()
        if auth_token is None or (auth_token.expiry is not None and auth_token.expiry <= timezone.now()):
            raise AuthenticationFailed(INVALID_TOKEN)
        if not auth_token.user.is_active:
            raise AuthenticationFailed(INACTIVE_USER)
        return auth_token.user, auth_token


class TokenScheme(OpenApiAuthenticationExtension):
    """The schema's security scheme for these tokens, under the name DRF's own tokens had."""

    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
