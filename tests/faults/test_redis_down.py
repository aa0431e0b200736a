"""Redis (the Celery broker) stopped: pages keep serving, a step that notifies still succeeds and
keeps its notification rows, /healthz says the broker is down; once Redis is back, the periodic
sweep (exemptions.send_waiting_notifications, every 5 minutes in the beat schedule) sends what was
kept, through a real worker, to a real SMTP server."""

import re
import subprocess
import sys
import time

import pytest

from tests.conftest import PROJECT_DIR

from .conftest import HTTP_TIMEOUT


@pytest.fixture
def worker_for():
    """worker_for(app) starts a Celery worker with the app's settings; stopped at the end."""
    started = []

    def start(app, **extra):
        log = (app.var_dir / "worker.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "--app", "atmp_clinic", "worker", "--pool", "solo", "--without-heartbeat",
             "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=PROJECT_DIR, env={**app.env, "LOG_LEVEL": "INFO", **extra}, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_pages_and_steps_go_on_without_redis_and_the_sweep_sends_what_waited(
    own_postgres, database, serve, own_redis, keys, smtp_server, settings, worker_for
):
    smtp_port = settings.EMAIL_PORT  # the smtp_server fixture's port
    # As deployed (deploy/compose.yaml), Redis is the cache as well as the broker.
    app = serve(
        database_url=own_postgres.url(database),
        broker_url=own_redis.url,
        CACHE_URL=own_redis.url.removesuffix("/0") + "/1",
    )
    reviewer = app.session("reviewer", keys)
    assert reviewer.get(f"{app.base}/healthz", timeout=HTTP_TIMEOUT).json()["checks"]["broker"] == "ok"
    listing = reviewer.get(f"{app.base}/requests/?state=submitted", timeout=HTTP_TIMEOUT)
    submitted = re.search(r'href="/requests/(\d+)/"', listing.text).group(1)

    own_redis.stop()

    health, health_s = timed(lambda: reviewer.get(f"{app.base}/healthz", timeout=HTTP_TIMEOUT))
    assert health.status_code == 503, health.text
    body = health.json()
    assert body["status"] == "error" and body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error"), body
    for path in ("/", "/requests/", f"/requests/{submitted}/", "/dashboard/"):
        page, page_s = timed(lambda path=path: reviewer.get(f"{app.base}{path}", timeout=HTTP_TIMEOUT))
        assert page.status_code == 200, (path, page.status_code)
    # Someone logs in with their second factor, whose wrong codes the cache counts when it can.
    pharmacist = app.session("pharmacist", keys)
    assert pharmacist.get(f"{app.base}/dashboard/", timeout=HTTP_TIMEOUT).status_code == 200

    # A step that notifies: the reviewer validates a submitted request (the hospital's pharmacists
    # and the authority's assessors are told), while the broker is down.
    detail = reviewer.get(f"{app.base}/requests/{submitted}/", timeout=HTTP_TIMEOUT).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', detail).group(1)
    step, step_s = timed(lambda: reviewer.post(
        f"{app.base}/requests/{submitted}/steps/validate/", data={"csrfmiddlewaretoken": token, "comment": ""},
        timeout=HTTP_TIMEOUT, allow_redirects=False,
    ))  # fmt: skip
    assert step.status_code == 302, (step.status_code, step.text[:500])
    state = own_postgres.execute(
        database, "SELECT state FROM exemptions_exemptionrequest WHERE id = %s", [submitted]
    )[0][0]
    assert state == "under_assessment"
    kept = own_postgres.execute(
        database,
        """SELECT n.id, n.status, n.idempotency_key FROM exemptions_notification n
           JOIN audit_auditevent e ON e.id = n.event_id WHERE n.request_id = %s AND e.action = 'validated'""",
        [submitted],
    )
    assert kept and all(status == "pending" for _, status, _ in kept), kept
    print(
        f"\nbroker down: /healthz answered 503 in {health_s:.2f} s, pages 200 (last in {page_s:.2f} s), "
        f"validate answered 302 in {step_s:.2f} s and kept {len(kept)} notifications pending"
    )

    # Redis back; a worker; the sweep, as beat sends it every 5 minutes. The sweep takes what has
    # waited more than a minute: the rows are dated back 2 minutes, as if it ran that much later.
    own_redis.start()
    own_postgres.execute(
        database,
        "UPDATE exemptions_notification SET created_at = created_at - interval '2 minutes' WHERE id = ANY(%s)",
        [[pk for pk, _, _ in kept]],
    )
    worker_for(app, EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}")
    back = time.monotonic()
    # As beat sends it: with the app's settings (Celery reads CELERY_BROKER_URL from the environment
    # before any argument, so the test process itself could only publish to the suite's broker).
    sent = subprocess.run(
        [sys.executable, "-m", "celery", "--app", "atmp_clinic", "call", "exemptions.send_waiting_notifications",
         "--expires", "300"],
        cwd=PROJECT_DIR, env=app.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    wanted = {f"<{key}@atmp-clinic>" for _, _, key in kept}
    while time.monotonic() - back < 45:
        if wanted <= {message["Message-ID"] for message in smtp_server.messages}:
            break
        time.sleep(0.2)
    delivered_s = time.monotonic() - back
    got = {message["Message-ID"] for message in smtp_server.messages}
    assert wanted <= got, (
        f"not delivered after {delivered_s:.0f} s: {wanted - got}; worker log:\n"
        + ((app.var_dir / "worker.log").read_text()[-3000:])
    )
    time.sleep(0.5)  # the worker marks each row sent just after the SMTP server took it
    statuses = own_postgres.execute(
        database, "SELECT status FROM exemptions_notification WHERE id = ANY(%s)", [[pk for pk, _, _ in kept]]
    )
    assert {status for (status,) in statuses} == {"sent"}, statuses
    assert len([m for m in smtp_server.messages if m["Message-ID"] in wanted]) == len(wanted), "sent twice"
    health = reviewer.get(f"{app.base}/healthz", timeout=HTTP_TIMEOUT)
    assert health.json()["checks"]["broker"] == "ok", health.text
    print(f"redis back: {len(wanted)} notifications delivered {delivered_s:.1f} s after the sweep was sent")
