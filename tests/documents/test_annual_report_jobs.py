"""Issue 10: the annual report asked for on the reports page is built by a worker. The job shows its
steps while it runs, then offers the document it issued, byte for byte, to the one who asked and no
one else; a failure is kept with its message and the report can be asked for again; a job asked for
while the broker was down is picked up by the sweep."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone, translation

from atmp_clinic.audit.models import AuditEvent
from atmp_clinic.celery import app as celery_app
from atmp_clinic.documents import annual_report, selectors, services, tasks
from atmp_clinic.documents.models import AnnualReportJob, DocumentKind, IssuedDocument
from tests.documents.test_annual_report import first_hospital
from tests.exemptions.conftest import client_for, user

pytestmark = pytest.mark.django_db

STEPS = annual_report.BUILD_STEPS


@pytest.fixture(autouse=True)
def _demo(demo, document_media):
    """The demo's people and hospitals; issued documents go to a temporary folder."""


def this_year() -> int:
    return timezone.localdate().year


def ask(username: str = "pharmacist", **changes) -> AnnualReportJob:
    """A report of the first hospital for this year, asked for through the service; no worker runs it."""
    return services.annual_report_request(
        actor=user(username), **{"hospital": first_hospital(), "year": this_year(), **changes}
    )


@pytest.fixture
def built(django_capture_on_commit_callbacks) -> AnnualReportJob:
    """The pharmacist's report, asked for and built by the (in-process) worker."""
    with django_capture_on_commit_callbacks(execute=True):
        job = ask()
    job.refresh_from_db()
    return job


def job_url(job: AnnualReportJob) -> str:
    return reverse("annual-report-job", args=[job.pk])


def download_url(job: AnnualReportJob) -> str:
    return reverse("annual-report-job-download", args=[job.pk])


# --- The service and the task --------------------------------------------------------------------


def test_asking_for_a_report_queues_a_job_and_audits_it():
    job = ask()
    assert (job.status, job.step, job.steps, job.document) == ("queued", 0, STEPS, None)
    event = AuditEvent.objects.get(action="annual_report_requested", object_id=job.pk)
    assert (event.actor, event.after) == (
        user("pharmacist"),
        {"hospital": first_hospital().pk, "year": this_year()},
    )


def test_the_worker_builds_the_report_step_by_step_and_issues_it_to_whoever_asked(
    monkeypatch, django_capture_on_commit_callbacks
):
    seen = []  # (the step the job shows, of how many) at each step the build tells
    build = annual_report.build

    def watched(hospital, year, *, progress):
        def told(done: int, steps: int) -> None:
            progress(done, steps)
            seen.append((AnnualReportJob.objects.get().step, steps))

        return build(hospital, year, progress=told)

    monkeypatch.setattr(annual_report, "build", watched)
    with django_capture_on_commit_callbacks(execute=True):
        job = ask()
    job.refresh_from_db()
    assert seen == [(done, STEPS) for done in range(1, STEPS + 1)]
    assert (job.status, job.step, job.error) == ("done", STEPS, "")
    document = job.document
    assert (document.kind, document.record, document.issued_by) == (
        DocumentKind.ANNUAL_REPORT,
        first_hospital(),
        user("pharmacist"),
    )
    assert document.file.open("rb").read().startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="annual_report_built", object_id=job.pk).exists()


def test_the_report_is_in_the_language_of_the_page_it_was_asked_from(django_capture_on_commit_callbacks):
    with translation.override("de"), django_capture_on_commit_callbacks(execute=True):
        job = ask()
    job.refresh_from_db()
    with translation.override("de"):
        assert job.language == "de" and job.document.title == annual_report.title(
            first_hospital(), this_year()
        )


def test_a_failed_build_is_kept_with_its_message_and_nothing_is_issued(
    monkeypatch, django_capture_on_commit_callbacks
):
    def broken(hospital, year, *, progress):
        progress(1, STEPS)
        raise RuntimeError("no chart backend")

    monkeypatch.setattr(annual_report, "build", broken)
    with django_capture_on_commit_callbacks(execute=True):
        job = ask()
    job.refresh_from_db()
    assert (job.status, job.step, job.error) == ("failed", 1, "RuntimeError: no chart backend")
    assert job.finished_at is not None and not IssuedDocument.objects.exists()
    assert AuditEvent.objects.filter(action="annual_report_failed", object_id=job.pk).exists()


def test_a_job_is_built_once_whatever_is_redelivered(built):
    assert services.annual_report_run(built.pk) is None
    assert IssuedDocument.objects.count() == 1


def test_a_broker_outage_leaves_the_job_queued_without_failing_the_request(
    monkeypatch, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks.run_annual_report, "delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("pharmacist").post(
            reverse("annual-reports"), {"hospital": first_hospital().pk, "year": this_year()}
        )
    job = AnnualReportJob.objects.get()
    assert response.status_code == 302 and job.status == "queued"


def test_the_sweep_builds_the_jobs_left_queued_a_while():
    left, recent = ask(), ask()
    AnnualReportJob.objects.filter(pk=left.pk).update(
        created_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    assert tasks.run_waiting_annual_reports() == 1
    left.refresh_from_db(), recent.refresh_from_db()
    assert (left.status, recent.status) == ("done", "queued")


def test_the_sweep_fails_a_job_whose_worker_died_so_it_can_be_asked_again(settings):
    dead, alive = ask(), ask()
    limit = timezone.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    AnnualReportJob.objects.filter(pk=dead.pk).update(status="running", started_at=timezone.now() - 2 * limit)
    AnnualReportJob.objects.filter(pk=alive.pk).update(status="running", started_at=timezone.now())
    tasks.run_waiting_annual_reports()
    dead.refresh_from_db(), alive.refresh_from_db()
    assert (dead.status, dead.error, alive.status) == ("failed", services.WORKER_LOST, "running")
    assert AuditEvent.objects.filter(action="annual_report_failed", object_id=dead.pk).exists()


def test_the_beat_runs_the_sweep_every_five_minutes_on_the_documents_queue(settings):
    entry = celery_app.conf.beat_schedule["run-waiting-annual-reports"]
    assert (entry["task"], entry["schedule"]) == (tasks.run_waiting_annual_reports.name, 300)
    assert settings.CELERY_TASK_ROUTES[tasks.run_annual_report.name] == {"queue": "documents"}


# --- The pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["reviewer", "decider", "pharmacist", "clinician"])
def test_the_form_sends_to_the_jobs_page_which_offers_the_report_byte_for_byte(
    username, django_capture_on_commit_callbacks
):
    client = client_for(username)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("annual-reports"), {"hospital": first_hospital().pk, "year": this_year()}
        )
    job = AnnualReportJob.objects.get(requested_by=user(username))
    assert response.status_code == 302 and response["Location"] == job_url(job)
    page = client.get(job_url(job)).content.decode()
    assert "The report is ready" in page and download_url(job) in page and 'http-equiv="refresh"' not in page
    download = client.get(download_url(job))
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == job.document.file.open("rb").read()


def test_a_job_at_work_shows_its_step_and_refreshes_itself():
    job = ask()
    AnnualReportJob.objects.filter(pk=job.pk).update(status="running", step=3)
    page = client_for("pharmacist").get(job_url(job)).content.decode()
    assert (
        'http-equiv="refresh"' in page and f'<progress id="build-progress" max="{STEPS}" value="3">' in page
    )
    assert '<label for="build-progress">' + f"Step 3 of {STEPS} done</label>" in page
    assert client_for("pharmacist").get(download_url(job)).status_code == 404


def test_a_failed_job_says_so_and_asks_again(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(annual_report, "build", lambda *args, **kwargs: 1 / 0)
    with django_capture_on_commit_callbacks(execute=True):
        failed = ask()
    client = client_for("pharmacist")
    page = client.get(job_url(failed)).content.decode()
    assert "The report could not be built" in page and "ZeroDivisionError" not in page
    assert 'http-equiv="refresh"' not in page and "Ask for it again" in page
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(reverse("annual-reports"), {"hospital": first_hospital().pk, "year": this_year()})
    job = AnnualReportJob.objects.exclude(pk=failed.pk).get()
    assert again["Location"] == job_url(job) and job.status == "done"


@pytest.mark.parametrize(
    "username",
    ["clinician", "decider", "reviewer_b", "clinician_2", "pharmacist_b", "patient", "analyst", "admin"],
)
def test_anyone_but_who_asked_gets_404_on_the_job_and_its_download(built, username):
    client = client_for(username)
    assert client.get(job_url(built)).status_code == 404
    assert client.get(download_url(built)).status_code == 404


def test_who_asked_no_longer_has_the_job_once_the_hospital_is_not_theirs(built):
    user("pharmacist").memberships.update(ended_at=timezone.now())
    assert not selectors.annual_report_jobs(user=user("pharmacist")).exists()


def test_the_reports_page_lists_only_the_jobs_one_asked_for(built):
    assert job_url(built) in client_for("pharmacist").get(reverse("annual-reports")).content.decode()
    for username in ("clinician", "reviewer", "clinician_2"):
        assert job_url(built) not in client_for(username).get(reverse("annual-reports")).content.decode()


@pytest.mark.parametrize("username", ["patient", "analyst", "admin"])
def test_those_without_reports_cannot_ask_for_one(username):
    response = client_for(username).post(
        reverse("annual-reports"), {"hospital": first_hospital().pk, "year": this_year()}
    )
    assert response.status_code == 404 and not AnnualReportJob.objects.exists()


def test_the_form_offers_no_other_countrys_hospital():
    response = client_for("reviewer_b").post(
        reverse("annual-reports"), {"hospital": first_hospital().pk, "year": this_year()}
    )
    assert "Choose one of the hospitals listed." in response.content.decode()
    assert not AnnualReportJob.objects.exists()


def test_a_year_to_come_is_refused():
    response = client_for("reviewer").post(
        reverse("annual-reports"), {"hospital": first_hospital().pk, "year": 2999}
    )
    assert "Choose one of the years listed." in response.content.decode()
    assert not AnnualReportJob.objects.exists()


def test_the_service_refuses_a_hospital_not_ones_own():
    with pytest.raises(PermissionDenied):
        ask("pharmacist_b")


def test_a_report_no_worker_starts_says_so_on_its_page_after_two_minutes():
    job = ask()
    assert "No worker has started" not in client_for("pharmacist").get(job_url(job)).content.decode()
    with time_machine.travel(job.created_at + timedelta(minutes=2, seconds=30)):
        page = client_for("pharmacist").get(job_url(job)).content.decode()
    assert "No worker has started this yet, 2 minutes after it was asked for" in page
