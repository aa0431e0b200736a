"""/metrics for Prometheus: not public. A scraper presents METRICS_TOKEN as a bearer token and/or
comes from an address in METRICS_ALLOWED_IPS (each one required when set); with neither set, nobody
is let in. Anyone else gets 404, as for any page they may not see."""

import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .metrics import scrape_registry


def bearer_token_matches(request: HttpRequest, expected: str) -> bool:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), expected.encode())


def address_allowed(request: HttpRequest, networks: list[str]) -> bool:
    # A relayed request's REMOTE_ADDR is the proxy's: allowing that address would let anyone who
    # reaches the proxy in. Prometheus scrapes the web processes directly, never through it.
    if "X-Forwarded-For" in request.headers:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)


def may_scrape(request: HttpRequest) -> bool:
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS
    if not token and not networks:
        return False
    return (not token or bearer_token_matches(request, token)) and (
        not networks or address_allowed(request, networks)
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not may_scrape(request):
        raise Http404
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
