"""SMS through a pluggable backend (SPEC §5): the console for development, Twilio in production.

Twilio's Messages API takes no idempotency key, so `reference` only ties the provider's message to
our outbox row in the logs; the outbox's claim (pending → sending) is what prevents a second send."""

import base64
import http.client
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10


class SmsError(Exception):
    """A message the provider refused or could not take; the text says why."""


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, reference: str) -> str:
        """Sends `body` to `to` (E.164) and returns the provider's message id."""
        ...


class ConsoleSmsBackend:
    """Writes each message to the log instead of sending it, for `make run`."""

    def send(self, *, to: str, body: str, reference: str) -> str:
        logger.info("SMS to %s [%s]: %s", to, reference, body)
        return f"console-{reference}"


class TwilioSmsBackend:
    """Twilio's REST API over the standard library: one POST per message, no SDK to keep up to date."""

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str, api_url: str) -> None:
        # urlopen would also follow file:// and ftp:// URLs; only a web API may be named here.
        if urllib.parse.urlsplit(api_url).scheme not in ("http", "https"):
            raise ImproperlyConfigured(f"TWILIO_API_URL must be an http(s) URL, not {api_url!r}")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.messages_url = (
            f"{api_url.rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(account_sid)}/Messages.json"
        )

    def send(self, *, to: str, body: str, reference: str) -> str:
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode("ascii")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.messages_url,
            data=urllib.parse.urlencode({"To": to, "From": self.from_number, "Body": body}).encode(),
            method="POST",
            # Sent up front: urllib's auth handler would wait for a 401 challenge first.
            headers={"Authorization": f"Basic {credentials}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310  # the scheme is checked in __init__
                sid = json.load(response)["sid"]
        except urllib.error.HTTPError as error:
            raise SmsError(
                f"Twilio refused SMS {reference} (HTTP {error.code}): {_twilio_reason(error)}"
            ) from error
        except urllib.error.URLError as error:
            raise SmsError(f"Twilio could not be reached for SMS {reference}: {error.reason}") from error
        except (OSError, http.client.HTTPException) as error:  # timeouts and dropped connections
            raise SmsError(f"Twilio could not take SMS {reference}: {error!r}") from error
        except (ValueError, KeyError, TypeError) as error:
            raise SmsError(f"Twilio's answer for SMS {reference} named no message sid: {error!r}") from error
        # Neither the number nor the text is logged: both are the patient's data.
        logger.info("SMS %s accepted by Twilio as %s", reference, sid)
        return sid


def _twilio_reason(error: urllib.error.HTTPError) -> str:
    """Twilio's own explanation ({"code": 21211, "message": "..."}), else the HTTP reason."""
    try:
        payload = json.loads(error.read())
    except (OSError, ValueError):
        return str(error.reason)
    if not isinstance(payload, dict) or not payload.get("message"):
        return str(error.reason)
    code = payload.get("code")
    return f"{payload['message']} (Twilio error {code})" if code else str(payload["message"])


def get_backend() -> SmsBackend:
    """The backend settings.SMS_BACKEND names (settings accept only "console" and "twilio")."""
    if settings.SMS_BACKEND == "twilio":
        return TwilioSmsBackend(
            account_sid=settings.TWILIO_ACCOUNT_SID,
            auth_token=settings.TWILIO_AUTH_TOKEN,
            from_number=settings.TWILIO_FROM_NUMBER,
            api_url=settings.TWILIO_API_URL,
        )
    return ConsoleSmsBackend()
