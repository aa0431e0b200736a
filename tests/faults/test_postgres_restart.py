"""PostgreSQL restarted under load: requests in flight fail cleanly (our error page, within the
client's timeout), a failed write leaves nothing half-written, and the same gunicorn answers again
once the database is back (CONN_HEALTH_CHECKS drops the dead connections)."""

import itertools
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass

import requests

from .conftest import ERROR_PAGE, HTTP_TIMEOUT, Postgres

READERS = 4
# A request whose view finished just before the database went away still saves its session on the
# way out (SESSION_SAVE_EVERY_REQUEST, sessions in the database); Django's SessionMiddleware turns
# that DatabaseError into SessionInterrupted, answered with its bare "Bad Request (400)" page, not
# our error page. Nothing is lost (the view's own transaction had committed), but the person sees
# "Bad Request". Accepted here as a clean failure, and reported (issue 8).
PAGES = ["/", "/patients/", "/requests/", "/patients/{patient}/"]


@dataclass
class Outcome:
    started: float
    ended: float
    what: str  # "GET /patients/" or "POST /patients/new/"
    status: int | None  # None: no answer (connection error or timeout)
    error: str = ""
    error_page: bool = False
    session_lost: bool = False  # Django's bare "Bad Request (400)": see above READERS


def record(outcomes, lock, what, call):
    started = time.monotonic()
    try:
        response = call()
    except requests.RequestException as exc:
        outcome = Outcome(started, time.monotonic(), what, None, f"{exc.__class__.__name__}: {exc}")
    else:
        outcome = Outcome(
            started, time.monotonic(), what, response.status_code, error_page=ERROR_PAGE in response.text,
            session_lost=response.status_code == 400 and "Bad Request (400)" in response.text,
        )  # fmt: skip
    with lock:
        outcomes.append(outcome)
    return outcome


def new_patient_form(session, base) -> dict:
    html = session.get(f"{base}/patients/new/", timeout=HTTP_TIMEOUT).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    sex = re.search(r'<select name="sex"[^>]*>.*?<option value="([^"]+)"', html, re.S).group(1)
    return {
        "csrfmiddlewaretoken": token, "year_of_birth": "1980", "sex": sex, "given_name": "Restart",
        "email": "", "phone": "", "preferred_language": "en", "time_zone": "Europe/Amsterdam",
    }  # fmt: skip


def test_requests_fail_cleanly_and_the_app_recovers_when_postgresql_restarts(
    own_postgres: Postgres, database, serve, own_redis, keys
):
    app = serve(database_url=own_postgres.url(database), broker_url=own_redis.url)
    pid = app.process.pid
    readers = [app.session("clinician", keys) for _ in range(READERS)]
    writer = app.session("clinician", keys)
    patient = re.search(
        r'href="/patients/(\d+)/"', readers[0].get(f"{app.base}/patients/", timeout=HTTP_TIMEOUT).text
    ).group(1)
    form = new_patient_form(writer, app.base)
    patients_before = own_postgres.execute(database, "SELECT count(*) FROM patients_patient")[0][0]

    outcomes: list[Outcome] = []
    lock, done = threading.Lock(), threading.Event()

    def read(session, offset):
        for path in itertools.islice(itertools.cycle(PAGES), offset, None):
            if done.is_set():
                return
            url = app.base + path.format(patient=patient)
            record(outcomes, lock, f"GET {path}", lambda url=url: session.get(url, timeout=HTTP_TIMEOUT))

    def write():
        for n in itertools.count():
            if done.is_set():
                return
            data = {**form, "family_name": f"Fault{n}"}
            record(outcomes, lock, "POST /patients/new/", lambda data=data: writer.post(
                f"{app.base}/patients/new/", data=data, timeout=HTTP_TIMEOUT, allow_redirects=False))  # fmt: skip

    threads = [threading.Thread(target=read, args=(s, i)) for i, s in enumerate(readers)]
    threads.append(threading.Thread(target=write))
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)  # steady load first
        restart_began = time.monotonic()
        own_postgres.restart()  # pg_ctl restart -m fast -w: returns once it accepts connections again
        back_at = time.monotonic()
        # Load goes on until the readers have answered 200 twice each, and a POST has created a
        # patient, since the database came back.
        deadline = back_at + 30
        while time.monotonic() < deadline:
            with lock:
                recovered = [o for o in outcomes if o.started >= back_at and o.status == 200]
                written = [o for o in outcomes if o.started >= back_at and o.status == 302]
            if len(recovered) >= 2 * READERS and written:
                break
            time.sleep(0.2)
        time.sleep(1)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=HTTP_TIMEOUT + 5)

    failed = [o for o in outcomes if o.status not in (200, 302)]
    unclean = [
        o
        for o in failed
        if not ((o.status in (500, 503) and o.error_page) or (o.status == 400 and o.session_lost))
    ]
    after = [o for o in outcomes if o.started >= back_at]
    first_ok = min((o.ended for o in after if o.status == 200), default=None)
    last_failure = max((o.ended for o in failed), default=restart_began)
    created = sum(1 for o in outcomes if o.what.startswith("POST") and o.status == 302)
    posts = sum(1 for o in outcomes if o.what.startswith("POST"))
    statuses = Counter("no answer" if o.status is None else o.status for o in failed)
    report = (
        f"{len(outcomes)} requests, {len(failed)} failed {dict(statuses)} ({sum(o.what.startswith('POST') for o in failed)} of "
        f"{posts} POSTs); restart took {back_at - restart_began:.1f} s; first 200 {first_ok - back_at if first_ok else float('nan'):.2f} s "
        f"after the database was back; last failure {last_failure - back_at:+.2f} s; slowest answer "
        f"{max(o.ended - o.started for o in outcomes):.2f} s"
    )
    print("\n" + report)

    assert not unclean, f"requests that did not fail cleanly: {unclean[:5]} ({report})"
    if any(o.session_lost for o in failed):
        assert "SessionInterrupted" in app.log_text(), (
            "a 400 that is not the session's save on a dead database"
        )
    assert all(o.ended - o.started < HTTP_TIMEOUT for o in outcomes), f"a request hung ({report})"
    assert first_ok is not None and all(
        o.status == 200 for o in after[-2 * READERS :] if o.what.startswith("GET")
    ), f"the app did not answer 200 again after the restart ({report})"
    assert any(o.status == 302 for o in after if o.what.startswith("POST")), (
        f"no write succeeded after ({report})"
    )
    assert app.process.poll() is None and app.process.pid == pid, "gunicorn had to be restarted"

    # Nothing half-written: each patient has its identity and its hospital's permissions; every
    # POST answered 302 created one patient, and a failed POST at most one whole patient.
    patients, identities, orphans, unpermitted = own_postgres.execute(
        database,
        """SELECT (SELECT count(*) FROM patients_patient),
                  (SELECT count(*) FROM patients_patientidentity),
                  (SELECT count(*) FROM patients_patient p WHERE NOT EXISTS
                      (SELECT 1 FROM patients_patientidentity i WHERE i.patient_id = p.id)),
                  (SELECT count(*) FROM patients_patient p WHERE
                      (SELECT count(*) FROM patients_patientgroupobjectpermission g WHERE g.content_object_id = p.id) < 3)""",
    )[0]
    assert orphans == 0 and patients == identities, f"{orphans} patients without identity"
    assert unpermitted == 0, f"{unpermitted} patients without their hospital's permissions"
    assert created <= patients - patients_before <= posts, (created, patients - patients_before, posts)
