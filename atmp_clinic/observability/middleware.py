"""One log line per request, with its request id, which the answer returns in X-Request-ID."""

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from . import context

logger = logging.getLogger("atmp_clinic.request")

REQUEST_ID_HEADER = "X-Request-ID"


def user_id_of(request: HttpRequest) -> int | None:
    """The id of the user the request was answered for, if anything looked them up: looking them up
    here would cost a session and a user query on requests that never needed them."""
    user = request.__dict__.get("user")
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    return user.pk if user.is_authenticated else None


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = context.request_id_from(request.headers.get(REQUEST_ID_HEADER))
        # Left set after the answer: Django logs errors (django.request) once the middleware has
        # returned. The request_finished signal clears it (apps.py).
        context.request_id.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        response[REQUEST_ID_HEADER] = request_id
        # The path without its query string: a search box's words may name a patient.
        logger.info(
            "%s %s %s %.1f ms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": user_id_of(request),
            },
        )
        return response


def clear_request_id(**_: object) -> None:
    context.request_id.set(None)
