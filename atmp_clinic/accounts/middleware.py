from django.utils.functional import SimpleLazyObject

from .selectors import active_membership


class MembershipMiddleware:
    """`request.membership`: the user's active role and organisation, read once and only if used."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: active_membership(user=request.user))
        return self.get_response(request)
