"""The browser pages for a user's API tokens; the API itself is under /api/v1/ (api/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("accounts/api-tokens/", views.api_token_list, name="api-token-list"),
    path("accounts/api-tokens/new/", views.api_token_create, name="api-token-create"),
    path("accounts/api-tokens/<str:token_key>/revoke/", views.api_token_revoke, name="api-token-revoke"),
]
