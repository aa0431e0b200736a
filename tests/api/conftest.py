"""Clients as the API's callers authenticate: by token, as an API client would, or by session, as
the browser does."""

from datetime import timedelta

from knox.models import AuthToken
from rest_framework.test import APIClient

from atmp_clinic.accounts.models import Organisation, User
from atmp_clinic.accounts.selectors import active_membership
from tests.conftest import log_in


def _user(who: str | User) -> User:
    return who if isinstance(who, User) else User.objects.get(username=who)


def token_for(who: str | User, *, expiry: timedelta = timedelta(days=1)) -> str:
    _, token = AuthToken.objects.create(_user(who), expiry=expiry)
    return token


def client_for(who: str | User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(who)}")
    return client


def session_for(username: str) -> APIClient:
    return log_in(APIClient(), _user(username))


def organisation_of(username: str) -> Organisation:
    return active_membership(user=_user(username)).organisation
