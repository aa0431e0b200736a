"""Clients as the API's callers authenticate: by token, as an API client would, or by session, as
the browser does."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from atmp_clinic.accounts.models import Organisation, User
from atmp_clinic.accounts.selectors import active_membership
from tests.conftest import log_in


def _user(who: str | User) -> User:
    return who if isinstance(who, User) else User.objects.get(username=who)


def client_for(who: str | User) -> APIClient:
    token, _ = Token.objects.get_or_create(user=_user(who))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def session_for(username: str) -> APIClient:
    return log_in(APIClient(), _user(username))


def organisation_of(username: str) -> Organisation:
    return active_membership(user=_user(username)).organisation
