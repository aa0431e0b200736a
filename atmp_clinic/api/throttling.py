"""API rate limits (settings.REST_FRAMEWORK): per user a burst and a sustained rate, per address for
anonymous callers. DRF keeps each caller's request times in the default cache, which all web
processes share, so a limit holds across gunicorn workers."""

from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class BurstRateThrottle(UserRateThrottle):
    scope = "burst"


class SustainedRateThrottle(UserRateThrottle):
    scope = "sustained"


class FailedTokenThrottle(AnonRateThrottle):
    """The anonymous budget of an address, spent by tokens it presented that were refused.

    DRF throttles only after authentication, so a wrong token would be answered 401 again and again
    without ever meeting a limit; the authentication class asks this one before looking a token up
    and charges it after a refusal. Accepted tokens cost nothing here."""

    def _load(self, request: Request) -> None:
        self.key = self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()

    def exhausted(self, request: Request) -> bool:
        self._load(request)
        return len(self.history) >= self.num_requests

    def charge(self, request: Request) -> None:
        self._load(request)
        self.throttle_success()
