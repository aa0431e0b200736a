"""Exports run by a worker: asked for on the analyst's page, written with their progress, downloaded
by the analyst who asked, once."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from atmp_clinic.patients import services as patient_services
from atmp_clinic.patients.models import ConsentKind
from atmp_clinic.registry import services
from atmp_clinic.registry.models import ExportJob
from tests.exemptions.conftest import client_for, user
from tests.followup.conftest import enrolled_patient, plan_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def consented_plan():
    plan = plan_for(enrolled_patient())
    patient_services.consent_give(
        actor=user("clinician"),
        patient=plan.patient,
        kind=ConsentKind.REGISTRY,
        given_on=timezone.localdate(),
    )
    return plan


def test_an_analyst_asks_for_an_export_watches_it_and_downloads_it(
    consented_plan, django_capture_on_commit_callbacks
):
    client = client_for("analyst")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("export-list"), {"format": "visits"})
    assert response.status_code == 302
    job = ExportJob.objects.get(requested_by=user("analyst"))
    assert (job.status, job.percent, job.rows_written) == ("done", 100, job.rows_expected)
    page = client.get(reverse("export-list")).content.decode()
    assert "Ready to download" in page and 'http-equiv="refresh"' not in page
    download = client.get(reverse("export-download", args=[job.pk]))
    content = b"".join(download.streaming_content).decode()
    assert download["Content-Disposition"].startswith("attachment")
    header, *rows = content.splitlines()
    assert header.startswith("pseudonym,hospital_country,atmp_class,administration_date")
    assert sum(consented_plan.patient.pseudonym in row for row in rows) == consented_plan.visits.count()
    assert consented_plan.patient.identity.family_name not in content


def test_a_fhir_export_is_one_resource_per_line(consented_plan, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.export_request(actor=user("analyst"), format="fhir")
    job.refresh_from_db()
    lines = job.file.open("rb").read().decode().splitlines()
    assert job.status == "done" and job.rows_expected is None and len(lines) == job.rows_written
    assert {"Patient", "Procedure", "Consent"} <= {json.loads(line)["resourceType"] for line in lines}


def test_a_queued_export_shows_its_progress_on_its_own_page_refreshing():
    job = services.export_request(actor=user("analyst"), format="outcomes")  # no worker ran it yet
    page = client_for("analyst").get(reverse("export-job", args=[job.pk])).content.decode()
    assert "Waiting for a worker" in page and 'http-equiv="refresh"' in page


def test_an_export_no_worker_starts_says_so_after_two_minutes():
    # With no worker running, the page had said "Waiting for a worker" for ever and nothing more.
    job = services.export_request(actor=user("analyst"), format="outcomes")
    url = reverse("export-job", args=[job.pk])
    assert "No worker has started" not in client_for("analyst").get(url).content.decode()
    with time_machine.travel(job.created_at + timedelta(minutes=3, seconds=5)):
        page = client_for("analyst").get(url).content.decode()
    assert "No worker has started this yet, 3 minutes after it was asked for" in page


def test_the_exports_form_page_never_reloads_itself_while_an_export_is_pending():
    # A reload would throw away the format being chosen and move focus back to the top.
    services.export_request(actor=user("analyst"), format="outcomes")
    page = client_for("analyst").get(reverse("export-list")).content.decode()
    assert "Waiting for a worker" in page and 'http-equiv="refresh"' not in page


def test_asking_for_an_export_leads_to_that_exports_page():
    response = client_for("analyst").post(reverse("export-list"), {"format": "fhir"})
    job = ExportJob.objects.get(requested_by=user("analyst"))
    assert (response.status_code, response.url) == (302, reverse("export-job", args=[job.pk]))


def test_a_finished_exports_page_stops_refreshing_and_offers_the_download(
    consented_plan, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.export_request(actor=user("analyst"), format="visits")
    page = client_for("analyst").get(reverse("export-job", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' not in page and reverse("export-download", args=[job.pk]) in page


@pytest.mark.parametrize("page", ["export-list", "export-job"])
def test_a_csv_export_counts_its_rows_of_data_not_its_lines(page, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.export_request(actor=user("analyst"), format="visits")
    ExportJob.objects.filter(pk=job.pk).update(rows_written=2)  # the header and one visit
    url = reverse(page, args=[job.pk]) if page == "export-job" else reverse(page)
    html = client_for("analyst").get(url).content.decode()
    assert ("(1 row)" in html, "(2 lines)" in html) == (True, False)


def test_a_fhir_export_counts_its_resources(consented_plan, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.export_request(actor=user("analyst"), format="fhir")
    job.refresh_from_db()
    html = client_for("analyst").get(reverse("export-job", args=[job.pk])).content.decode()
    assert f"({job.rows_written} resources)" in html


def test_an_export_runs_once_whatever_is_redelivered(consented_plan, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.export_request(actor=user("analyst"), format="adverse_events")
    assert services.export_run(job.pk) is None


def test_exports_asked_for_while_the_broker_was_down_are_picked_up_by_the_sweep():
    job = services.export_request(actor=user("analyst"), format="visits")
    ExportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timezone.timedelta(minutes=5))
    assert services.exports_waiting() == [job.pk]


@pytest.mark.parametrize("username", ["clinician", "pharmacist", "reviewer", "decider", "patient", "admin"])
def test_exports_are_for_analysts_only(username, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.export_request(actor=user("analyst"), format="visits")
    client = client_for(username)
    assert client.get(reverse("export-list")).status_code == 404
    assert client.post(reverse("export-list"), {"format": "visits"}).status_code == 404
    assert client.get(reverse("export-job", args=[job.pk])).status_code == 404
    assert client.get(reverse("export-download", args=[job.pk])).status_code == 404
    assert ExportJob.objects.count() == 1


def test_an_unknown_export_is_refused_with_a_message():
    response = client_for("analyst").post(reverse("export-list"), {"format": "everything"}, follow=True)
    assert b"Choose one of the exports offered." in response.content and not ExportJob.objects.exists()
