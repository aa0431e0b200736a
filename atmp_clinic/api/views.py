"""`/accounts/api-tokens/`: a staff user's own API tokens, listed, created (the token shown once)
and revoked. Patients, whose role does not use the API, find no such page (404), and a token that
is not the user's own is not found either."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from . import services
from .forms import ApiTokenForm
from .selectors import live_api_tokens, may_hold_api_tokens


def _api_user_or_404(request: HttpRequest) -> None:
    if not may_hold_api_tokens(user=request.user):
        raise Http404


def _list(request: HttpRequest, form: ApiTokenForm, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "api/token_list.html",
        {"tokens": live_api_tokens(user=request.user), "form": form},
        status=status,
    )


@login_required
def api_token_list(request: HttpRequest) -> HttpResponse:
    _api_user_or_404(request)
    return _list(request, ApiTokenForm())


@login_required
@require_POST
def api_token_create(request: HttpRequest) -> HttpResponse:
    _api_user_or_404(request)
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _list(request, form, status=400)
    token, secret = services.api_token_create(actor=request.user, days=form.cleaned_data["days"])
    # Rendered, not redirected: the token must not wait in a session or a message to be shown.
    response = render(request, "api/token_created.html", {"token": token, "secret": secret})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, token_key: str) -> HttpResponse:
    _api_user_or_404(request)
    # A key is a token's first characters; two of one user's tokens sharing it is not to be expected.
    token = live_api_tokens(user=request.user).filter(token_key=token_key).first()
    if token is None:
        raise Http404
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(
        request, _("The token %(key)s… is revoked: it no longer works.") % {"key": token.token_key}
    )
    return redirect("api-token-list")
