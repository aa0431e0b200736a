"""SMS through a pluggable backend (SPEC §5): Twilio's REST API, played by a real HTTP server on
loopback, and the console backend used by `make run`."""

import base64
import json
import logging
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from atmp_clinic.followup import sms
from atmp_clinic.followup.sms import ConsoleSmsBackend, SmsError, TwilioSmsBackend, get_backend

SID, TOKEN, FROM = "AC0123456789abcdef0123456789abcdef", "secret-token", "+3197010250000"


class FakeTwilio:
    """Answers every request with `status` and `answer`, and keeps what it was sent."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 201
        self.answer: bytes = json.dumps(
            {"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}
        ).encode()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                fake.requests.append(
                    {
                        "path": self.path,
                        "authorization": self.headers["Authorization"],
                        "content_type": self.headers["Content-Type"],
                        "form": urllib.parse.parse_qs(self.rfile.read(length).decode()),
                    }
                )
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(fake.answer)))
                self.end_headers()
                self.wfile.write(fake.answer)

            def log_message(self, format: str, *args) -> None:  # keeps the test output quiet
                pass

        return Handler


@pytest.fixture
def twilio():
    fake = FakeTwilio()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    # A short poll, so that shutdown at teardown does not wait the default half second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


def backend(api_url: str) -> TwilioSmsBackend:
    return TwilioSmsBackend(account_sid=SID, auth_token=TOKEN, from_number=FROM, api_url=api_url)


def send(api_url: str) -> str:
    return backend(api_url).send(
        to="+31612345678", body="Reminder: visit on 12 March", reference="rem-41-7-sms"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_posts_to_the_accounts_messages_resource(twilio):
    send(twilio.url)
    assert twilio.requests[0]["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"


def test_it_authenticates_with_the_account_sid_and_auth_token(twilio):
    send(twilio.url)
    scheme, credentials = twilio.requests[0]["authorization"].split()
    assert (scheme, base64.b64decode(credentials).decode()) == ("Basic", f"{SID}:{TOKEN}")


def test_it_sends_to_from_and_body_as_a_form(twilio):
    send(twilio.url)
    request = twilio.requests[0]
    assert (request["content_type"], request["form"]) == (
        "application/x-www-form-urlencoded",
        {"To": ["+31612345678"], "From": [FROM], "Body": ["Reminder: visit on 12 March"]},
    )


def test_it_returns_twilios_message_sid(twilio):
    assert send(twilio.url) == "SM0123456789abcdef0123456789abcdef"


def test_a_trailing_slash_in_the_api_url_changes_nothing(twilio):
    send(twilio.url + "/")
    assert twilio.requests[0]["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"


def test_a_refusal_raises_sms_error_with_twilios_message(twilio):
    twilio.status = 400
    twilio.answer = json.dumps(
        {
            "code": 21211,
            "message": "The 'To' number +31612345678 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        }
    ).encode()
    with pytest.raises(SmsError) as refused:
        send(twilio.url)
    assert "HTTP 400" in str(refused.value) and "is not a valid phone number" in str(refused.value)


def test_a_refusal_without_twilios_json_still_raises_sms_error(twilio):
    twilio.status, twilio.answer = 503, b"<html>Service Unavailable</html>"
    with pytest.raises(SmsError, match="HTTP 503"):
        send(twilio.url)


def test_an_answer_without_a_sid_raises_sms_error(twilio):
    twilio.answer = b"{}"
    with pytest.raises(SmsError, match="no message sid"):
        send(twilio.url)


def test_a_refused_connection_raises_sms_error():
    with pytest.raises(SmsError, match="could not be reached"):
        send(f"http://127.0.0.1:{free_port()}")


def test_a_provider_that_never_answers_raises_sms_error(monkeypatch):
    monkeypatch.setattr(sms, "TIMEOUT_SECONDS", 0.2)
    # Listening but never accepting: the connection opens, and no answer ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(SmsError):
            send(f"http://127.0.0.1:{silent.getsockname()[1]}")


def test_only_an_http_api_url_is_accepted():
    with pytest.raises(ImproperlyConfigured):
        backend("file:///etc/passwd")


def test_the_console_backend_logs_the_message(caplog):
    with caplog.at_level(logging.INFO, logger="atmp_clinic.followup.sms"):
        message_id = ConsoleSmsBackend().send(to="+31612345678", body="Hello", reference="rem-41-7-sms")
    assert (message_id, caplog.messages) == (
        "console-rem-41-7-sms",
        ["SMS to +31612345678 [rem-41-7-sms]: Hello"],
    )


def test_the_console_backend_is_the_default(settings):
    settings.SMS_BACKEND = "console"
    assert isinstance(get_backend(), ConsoleSmsBackend)


def test_settings_choose_twilio(settings, twilio):
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER = SID, TOKEN, FROM
    settings.TWILIO_API_URL = twilio.url
    get_backend().send(to="+31612345678", body="Hello", reference="rem-41-7-sms")
    assert twilio.requests[0]["form"]["From"] == [FROM]
