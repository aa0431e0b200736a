"""The load scenario of issue 8 (run by bench/load.py; alone: `locust -f bench/locustfile.py --host URL`).

People across the roles use the demo as on a working day, each waiting 1–5 s between pages. Several
locust users share one demo account (tabs of one person): each account logs in once, through the
login page and, where asked, the second factor (bench.load.log_in), and its users share the session.
What each account may open is read from its own list pages when it first logs in. Pages are named
by their route, so that /requests/12/ and /requests/31/ count as one page."""

import itertools
import json
import os
import random
import re
import sys
from pathlib import Path

from gevent.lock import Semaphore
from locust import HttpUser, between, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.load import LoginFailed, log_in

TOTP_KEYS = (
    json.loads(Path(os.environ["LOAD_TOTP_KEYS"]).read_text()) if os.environ.get("LOAD_TOTP_KEYS") else {}
)
LINKS = {
    "requests": re.compile(r'href="/requests/(\d+)/"'),
    "patients": re.compile(r'href="/patients/(\d+)/"'),
    "visits": re.compile(r'href="/visits/(\d+)/"'),
    "plans": re.compile(r'href="/plans/(\d+)/"'),
    "batches": re.compile(r'href="/batches/(\d+)/"'),
}


class Account:
    """One demo account: logged in once, its session cookies and the ids it may open shared by
    every locust user on it."""

    def __init__(self, username: str):
        self.username = username
        self.lock = Semaphore()
        self.cookies = None
        self.ids: dict[str, list[int]] = {}


ACCOUNTS: dict[str, Account] = {}


def account(username: str) -> Account:
    return ACCOUNTS.setdefault(username, Account(username))


def ids_in(html: str, kind: str) -> list[int]:
    return sorted({int(value) for value in LINKS[kind].findall(html)})


class Person(HttpUser):
    abstract = True
    wait_time = between(1, 5)
    usernames: tuple[str, ...] = ()
    role = ""

    def on_start(self):
        cycle = type(self).__dict__.get("_cycle")
        if cycle is None:
            cycle = itertools.cycle(self.usernames)
            type(self)._cycle = cycle
        self.account = account(next(cycle))
        with self.account.lock:
            if self.account.cookies is None:
                try:
                    log_in(self.client, "", self.account.username, totp_keys=TOTP_KEYS, name="log in")
                except LoginFailed as failure:
                    events.request.fire(
                        request_type="LOGIN", name=self.role, response_time=0, response_length=0,
                        exception=failure, context={},
                    )  # fmt: skip
                    self.stop(force=True)
                    return
                self.account.cookies = self.client.cookies.copy()
                self.discover()
            else:
                self.client.cookies.update(self.account.cookies)

    def discover(self):
        """The ids this account may open, from its own pages (counted as page views too)."""

    def page(self, path: str, name: str, **kwargs):
        with self.client.get(path, name=name, catch_response=True, **kwargs) as response:
            if response.status_code == 200 and response.url and "/accounts/login/" in response.url:
                response.failure("redirected to the login page: the session was lost")
            return response

    def pick(self, kind: str) -> int | None:
        ids = self.account.ids.get(kind)
        return random.choice(ids) if ids else None

    def home(self):
        self.page("/", f"/ ({self.role} worklist)")


class Pharmacist(Person):
    weight = 10
    role = "pharmacist"
    usernames = ("pharmacist", "pharmacist_2", "pharmacist_b", "pharmacist_2_b")

    def discover(self):
        html = self.page("/requests/", "/requests/").text
        self.account.ids["requests"] = ids_in(html, "requests")
        self.account.ids["patients"] = ids_in(self.page("/patients/", "/patients/").text, "patients")
        home = self.page("/", f"/ ({self.role} worklist)").text
        self.account.ids["batches"] = ids_in(home, "batches")

    @task(3)
    def worklist(self):
        self.home()

    @task(3)
    def request_list(self):
        self.page("/requests/", "/requests/")

    @task(6)
    def request_detail(self):
        if pk := self.pick("requests"):
            self.page(f"/requests/{pk}/", "/requests/[id]/")

    @task(2)
    def patient_detail(self):
        if pk := self.pick("patients"):
            self.page(f"/patients/{pk}/", "/patients/[id]/")

    @task(1)
    def products(self):
        self.page("/products/", "/products/")

    @task(1)
    def batch(self):
        if pk := self.pick("batches"):
            self.page(f"/batches/{pk}/", "/batches/[id]/")

    @task(1)
    def api_requests(self):
        self.page("/api/v1/exemptions/", "/api/v1/exemptions/")

    @task(1)
    def api_batches(self):
        self.page("/api/v1/batches/", "/api/v1/batches/")


class Clinician(Person):
    weight = 14
    role = "clinician"
    usernames = ("clinician", "clinician_2", "clinician_b", "clinician_2_b")

    def discover(self):
        home = self.page("/", f"/ ({self.role} worklist)").text
        patients = ids_in(self.page("/patients/", "/patients/").text, "patients")
        visits, plans = set(ids_in(home, "visits")), set()
        for pk in patients[:6]:
            html = self.page(f"/patients/{pk}/", "/patients/[id]/").text
            visits.update(ids_in(html, "visits"))
            plans.update(ids_in(html, "plans"))
        for pk in sorted(plans)[:3]:
            visits.update(ids_in(self.page(f"/plans/{pk}/", "/plans/[id]/").text, "visits"))
        self.account.ids.update(
            patients=patients,
            visits=sorted(visits),
            plans=sorted(plans),
            requests=ids_in(self.page("/requests/", "/requests/").text, "requests"),
        )

    @task(4)
    def worklist(self):
        self.home()

    @task(2)
    def patient_list(self):
        self.page("/patients/", "/patients/")

    @task(4)
    def patient_detail(self):
        if pk := self.pick("patients"):
            self.page(f"/patients/{pk}/", "/patients/[id]/")

    @task(4)
    def visit_detail(self):
        if pk := self.pick("visits"):
            self.page(f"/visits/{pk}/", "/visits/[id]/")

    @task(2)
    def plan_detail(self):
        if pk := self.pick("plans"):
            self.page(f"/plans/{pk}/", "/plans/[id]/")

    @task(1)
    def traceability(self):
        if pk := self.pick("patients"):
            self.page(f"/patients/{pk}/traceability/", "/patients/[id]/traceability/")

    @task(2)
    def request_detail(self):
        if pk := self.pick("requests"):
            self.page(f"/requests/{pk}/", "/requests/[id]/")

    @task(1)
    def api_visits(self):
        self.page("/api/v1/visits/", "/api/v1/visits/")

    @task(1)
    def api_patients(self):
        self.page("/api/v1/patients/", "/api/v1/patients/")


class Reviewer(Person):
    weight = 12
    role = "reviewer"
    usernames = (
        "reviewer",
        "assessor",
        "assessor2",
        "decider",
        "reviewer_b",
        "assessor_b",
        "assessor2_b",
        "decider_b",
    )

    def discover(self):
        self.account.ids["requests"] = ids_in(self.page("/requests/", "/requests/").text, "requests")

    @task(4)
    def worklist(self):
        self.home()

    @task(2)
    def request_list(self):
        self.page("/requests/", "/requests/")

    @task(1)
    def overdue(self):
        self.page("/requests/?overdue=1", "/requests/?overdue=1")

    @task(6)
    def request_detail(self):
        if pk := self.pick("requests"):
            self.page(f"/requests/{pk}/", "/requests/[id]/")

    @task(1)
    def api_requests(self):
        self.page("/api/v1/exemptions/", "/api/v1/exemptions/")

    @task(1)
    def api_request(self):
        if pk := self.pick("requests"):
            self.page(f"/api/v1/exemptions/{pk}/", "/api/v1/exemptions/[id]/")


class Patient(Person):
    weight = 10
    role = "patient"
    usernames = ("patient", "patient_b")

    @task(8)
    def own_visits(self):
        self.home()

    @task(2)
    def calendar(self):
        self.page("/my/visits.ics", "/my/visits.ics")

    @task(1)
    def schedule_letter(self):
        self.page("/my/schedule.pdf", "/my/schedule.pdf")


class Analyst(Person):
    weight = 4
    role = "analyst"
    usernames = ("analyst",)

    @task(2)
    def worklist(self):
        self.home()

    @task(4)
    def dashboard(self):
        self.page("/dashboard/", "/dashboard/")

    @task(2)
    def survival(self):
        self.page("/dashboard/survival.png", "/dashboard/survival.png")

    @task(2)
    def adverse_events(self):
        self.page("/dashboard/adverse-events.png", "/dashboard/adverse-events.png")

    @task(1)
    def export_visits(self):
        self.page("/api/v1/registry/export.csv?table=visits", "/api/v1/registry/export.csv")

    @task(1)
    def api_adverse_events(self):
        self.page("/api/v1/adverse-events/", "/api/v1/adverse-events/")
