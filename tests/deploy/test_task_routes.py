"""Every Celery task goes to a queue that a worker consumes wherever the app runs (compose, systemd,
Kubernetes, make run): a task left out of CELERY_TASK_ROUTES, or a queue no worker consumes, fails
here instead of waiting in Redis for ever."""

import pytest
from django.conf import settings

from atmp_clinic.celery import app as celery_app
from tests.deploy import manifests

DEPLOYMENTS = {
    "compose": manifests.compose_commands,
    "systemd": manifests.systemd_commands,
    "kubernetes": manifests.k8s_commands,
    "make run": manifests.procfile_commands,
}


def registered_tasks() -> set[str]:
    """The tasks of every app's tasks.py (found as a worker finds them), without Celery's own."""
    celery_app.loader.import_default_modules()
    return {name for name in celery_app.tasks if not name.startswith("celery.")}


def test_the_code_base_has_the_tasks_this_test_knows_of():
    # Guards the guard: were autodiscovery to find nothing, every test below would pass.
    assert {
        "followup.send_message",
        "registry.run_export",
        "documents.issue_annual_reports",
    } <= registered_tasks()


def test_every_task_is_named_in_the_routes():
    assert registered_tasks() - set(settings.CELERY_TASK_ROUTES) == set()


def test_every_route_names_a_task_that_exists():
    assert set(settings.CELERY_TASK_ROUTES) - registered_tasks() == set()


def test_every_routed_queue_is_declared():
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= set(settings.CELERY_TASK_QUEUES)


def test_celery_sends_each_task_to_its_routed_queue():
    sent_to = {name: celery_app.amqp.router.route({}, name)["queue"].name for name in registered_tasks()}
    assert sent_to == {name: route["queue"] for name, route in settings.CELERY_TASK_ROUTES.items()}


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_every_queue_has_a_worker(deployment):
    assert set(settings.CELERY_TASK_QUEUES) - manifests.consumed_queues(DEPLOYMENTS[deployment]()) == set()


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_every_worker_names_its_queues(deployment):
    commands = DEPLOYMENTS[deployment]()
    workers = [name for name, command in commands.items() if manifests.celery_role(command) == "worker"]
    assert workers and all(manifests.worker_queues(commands[name]) for name in workers)


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_exactly_one_beat_is_started(deployment):
    assert len(manifests.beats(DEPLOYMENTS[deployment]())) == 1
