"""Each deployment starts its processes so that they log JSON and can be scraped: gunicorn and every
worker count in a multiprocess directory that starts empty, workers serve their metrics where only
the scrape network reaches them, Celery prints no plain-text banner, and the scrape token is a secret.
(What the processes then do with these settings: tests/deploy/test_gunicorn.py, tests/observability.)"""

import pytest

from tests.deploy import manifests

DEPLOYMENTS = {
    "compose": manifests.compose_processes,
    "systemd": manifests.systemd_processes,
    "kubernetes": manifests.k8s_processes,
}
QUEUES = 4  # CELERY_TASK_QUEUES: one pool each


def of_role(deployment: str, *roles: str) -> dict[str, manifests.Process]:
    processes = {name: p for name, p in DEPLOYMENTS[deployment]().items() if p.role in roles}
    # Guards the guard: were the parsing to find no process, every test below would pass.
    assert [p.role for p in processes.values()].count("worker") in (0, QUEUES)
    return processes


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_gunicorn_and_every_worker_count_in_a_directory_emptied_at_start(deployment):
    processes = of_role(deployment, "web", "worker")
    assert len(processes) == 1 + QUEUES
    assert {
        name: process.env.get("PROMETHEUS_MULTIPROC_DIR")
        for name, process in processes.items()
        if process.env.get("PROMETHEUS_MULTIPROC_DIR") not in process.fresh_dirs
    } == {}


def test_each_systemd_service_has_a_metrics_directory_of_its_own():
    """One machine: two services in one directory would sum each other's counts (compose and
    Kubernetes give each container its own tmpfs or emptyDir)."""
    directories = [p.env["PROMETHEUS_MULTIPROC_DIR"] for p in of_role("systemd", "web", "worker").values()]
    assert len(set(directories)) == len(directories) == 1 + QUEUES


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_every_process_of_the_app_logs_json(deployment):
    """LOG_FORMAT=json, or left to production's default, which is json."""
    processes = DEPLOYMENTS[deployment]()
    assert {
        name: (process.env.get("DJANGO_ENV"), process.env.get("LOG_FORMAT"))
        for name, process in processes.items()
        if process.env.get("LOG_FORMAT", "json" if process.env.get("DJANGO_ENV") == "production" else "plain")
        != "json"
    } == {}


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_every_celery_process_starts_quiet(deployment):
    """Without --quiet, worker and beat print a plain-text banner between the JSON lines."""
    celery = of_role(deployment, "worker", "beat")
    assert len(celery) == QUEUES + 1
    assert [name for name, p in celery.items() if "--quiet" not in p.command[: p.command.index(p.role)]] == []


@pytest.mark.parametrize("deployment", ["compose", "kubernetes"])
def test_each_worker_serves_its_metrics_on_a_port_of_its_container(deployment):
    """On the container's or pod's address, which only the stack's network reaches: never published."""
    workers = of_role(deployment, "worker")
    assert {
        name: (
            p.env.get("METRICS_WORKER_ADDRESS"),
            int(p.env.get("METRICS_WORKER_PORT", 0)) in p.exposed_ports,
        )
        for name, p in workers.items()
    } == dict.fromkeys(workers, ("0.0.0.0", True))  # noqa: S104 (the container's or pod's own interfaces)


def test_each_systemd_worker_serves_its_metrics_on_loopback_on_a_port_of_its_own():
    """Four pools on one machine: one port each, on an address only that machine reaches."""
    workers = of_role("systemd", "worker").values()
    ports = {int(p.env.get("METRICS_WORKER_PORT", 0)) for p in workers}
    assert ({p.env.get("METRICS_WORKER_ADDRESS") for p in workers}, len(ports), 0 in ports) == (
        {"127.0.0.1"},
        QUEUES,
        False,
    )


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_the_metrics_token_comes_from_a_secret_never_a_literal(deployment):
    processes = DEPLOYMENTS[deployment]()
    literal = [name for name, process in processes.items() if "METRICS_TOKEN" in process.env]
    without_secrets = [
        name for name, process in of_role(deployment, "web").items() if not process.reads_secrets
    ]
    assert (literal, without_secrets) == ([], [])


def test_the_metrics_token_is_in_env_example_and_empty():
    lines = (manifests.DEPLOY_DIR / "env.example").read_text().splitlines()
    assert "METRICS_TOKEN=" in lines


def test_the_kubernetes_secret_is_made_with_the_metrics_token():
    """deploy/README.md's `kubectl create secret` makes the Secret: without the token /metrics
    refuses every scrape."""
    readme = (manifests.DEPLOY_DIR / "README.md").read_text()
    command = readme[readme.index("kubectl create secret generic atmp-clinic-secrets") :].split("\n```")[0]
    assert "--from-literal=METRICS_TOKEN=" in command


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_prometheus_can_name_the_web_process_it_scrapes(deployment):
    """Prometheus sends the address it scrapes as Host: it must be one Django accepts."""
    (web,) = of_role(deployment, "web").values()
    expected = {
        "compose": "web",  # the service's name on the stack's network
        "systemd": web.env.get("GUNICORN_BIND", "").split(":")[0],  # the loopback gunicorn listens on
        "kubernetes": "fieldRef:status.podIP",
    }[deployment]
    assert web.env.get("INTERNAL_HOSTS") == expected


def test_kubernetes_pods_ask_to_be_scraped_on_their_metrics_port():
    """The prometheus.io annotations that Prometheus' kubernetes_sd_configs relabelling reads."""
    deployments = manifests.k8s_of_kind("Deployment")
    processes = of_role("kubernetes", "web", "worker")
    annotations = {
        name: deployments[name]["spec"]["template"]["metadata"].get("annotations", {}) for name in processes
    }
    expected = {
        name: {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": process.env.get("METRICS_WORKER_PORT", "8000"),
            "prometheus.io/path": "/metrics",
        }
        for name, process in processes.items()
    }
    assert annotations == expected


def test_only_prometheus_reaches_the_kubernetes_workers_and_only_their_metrics_port():
    (policy,) = manifests.k8s_of_kind("NetworkPolicy").values()
    deployments = manifests.k8s_of_kind("Deployment")
    (selector,) = policy["spec"]["podSelector"]["matchExpressions"]
    selected = {
        name
        for name, deployment in deployments.items()
        if deployment["spec"]["template"]["metadata"]["labels"][selector["key"]] in selector["values"]
    }
    (rule,) = policy["spec"]["ingress"]
    assert (selected, policy["spec"]["policyTypes"], [port["port"] for port in rule["ports"]]) == (
        set(of_role("kubernetes", "worker")),
        ["Ingress"],
        ["metrics"],
    )
