from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode

from .selectors import active_membership, authenticator_of, second_factor_required


class MembershipMiddleware:
    """`request.membership`: the user's active role and organisation, read once and only if used."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: active_membership(user=request.user))
        return self.get_response(request)


class UserLanguageMiddleware:
    """A logged-in person's pages in the language they chose (User.language) on whatever browser they
    use; until they choose, LocaleMiddleware's pick stands (the language cookie, then the browser's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = request.user.language if request.user.is_authenticated else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


class SecondFactorMiddleware:
    """After the password, a person with a second factor enters a code from it, and a person whose role
    needs one sets it up; until then only those pages and logging out answer. (django-otp's
    OTPMiddleware, before this one, knows whether this session was verified.) API calls made with the
    session get 403; API tokens are made only from a verified session."""

    OPEN = {
        "second-factor-verify",
        "second-factor-setup",
        "second-factor-recovery-codes",
        "logout",
        "healthz",
        # The code pages are read in one's own language too.
        "set_language",
    }

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified() or request.resolver_match.url_name in self.OPEN:
            return None
        # One query for most requests: the membership is read once per request anyway.
        if authenticator_of(user=user):
            target = "second-factor-verify"
        elif second_factor_required(user=user, membership=request.membership):
            target = "second-factor-setup"
        else:
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": "Enter the code of your second factor in the browser first."}, status=403
            )
        response = redirect(target)
        response["Location"] += "?" + urlencode({"next": request.get_full_path()})
        return response
