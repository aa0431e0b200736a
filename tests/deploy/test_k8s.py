"""deploy/k8s: every manifest against Kubernetes' own OpenAPI schemas (kubernetes-validate, strict:
an unknown field fails), the kustomization rendered by kubectl, and what the cluster cannot check
(probes Django accepts, one beat, pods that are not root and have limits)."""

import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import require_service
from tests.deploy import manifests

# The oldest Kubernetes release the manifests are meant for.
KUBERNETES_VERSION = "1.30"
CONFIG_MAP = "atmp-clinic-config"
SECRET = "atmp-clinic-secrets"


def kubernetes_validate():
    try:
        import kubernetes_validate
    except ImportError as error:
        require_service("kubernetes-validate (requirements.lock)", str(error))
    return kubernetes_validate


def schema_errors(document: dict) -> list[str]:
    validator = kubernetes_validate()
    try:
        validator.validate(document, KUBERNETES_VERSION, strict=True)
    except validator.ValidationError as error:
        return [f"{'/'.join(map(str, error.path))}: {error.message}"]
    return []


@pytest.mark.parametrize("path", manifests.k8s_files(), ids=lambda path: path.name)
def test_each_manifest_follows_the_kubernetes_schema(path):
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert documents and [error for doc in documents for error in schema_errors(doc)] == []


def test_the_schema_check_catches_a_misspelt_field():
    web = manifests.k8s_of_kind("Deployment")["atmp-clinic-web"]
    container = web["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    assert schema_errors(web) == [
        "spec/template/spec/containers/0: Additional properties are not allowed ('readinesProbe' was unexpected)"
    ]


def test_the_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((manifests.K8S_DIR / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [path.name for path in manifests.k8s_files()]


def test_kubectl_renders_the_kustomization():
    kubectl = shutil.which("kubectl")
    require_service("kubectl", None if kubectl else "it is not on the PATH")
    done = subprocess.run(
        [kubectl, "kustomize", str(manifests.K8S_DIR)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    rendered = {(doc["kind"], doc["metadata"]["name"]) for doc in yaml.safe_load_all(done.stdout) if doc}
    assert rendered == {(doc["kind"], doc["metadata"]["name"]) for doc in manifests.k8s_documents()}


def web_container() -> dict:
    return manifests.pod_specs()["atmp-clinic-web"]["containers"][0]


@pytest.mark.parametrize("probe", ["readinessProbe", "livenessProbe"])
def test_web_probes_ask_healthz_for_an_allowed_host(probe):
    """The kubelet would send the pod's IP as Host, which ALLOWED_HOSTS refuses (400)."""
    allowed = manifests.k8s_of_kind("ConfigMap")[CONFIG_MAP]["data"]["ALLOWED_HOSTS"].split(",")
    check = web_container()[probe]["httpGet"]
    headers = {header["name"]: header["value"] for header in check["httpHeaders"]}
    assert (check["path"], headers["Host"] in allowed) == ("/healthz", True)


@pytest.mark.django_db
def test_healthz_answers_the_probe_and_refuses_the_pod_ip(client, settings):
    settings.ALLOWED_HOSTS = manifests.k8s_of_kind("ConfigMap")[CONFIG_MAP]["data"]["ALLOWED_HOSTS"].split(
        ","
    )
    host = {h["name"]: h["value"] for h in web_container()["readinessProbe"]["httpGet"]["httpHeaders"]}[
        "Host"
    ]
    # 200, or 503 where this machine has no broker: either way Django took the request.
    answered = client.get("/healthz", HTTP_HOST=host).status_code
    assert (answered in (200, 503), client.get("/healthz", HTTP_HOST="10.1.2.3").status_code) == (True, 400)


def test_beat_is_one_pod_replaced_never_doubled():
    beat = manifests.k8s_of_kind("Deployment")["atmp-clinic-beat"]
    assert (beat["spec"]["replicas"], beat["spec"]["strategy"]["type"]) == (1, "Recreate")


def test_web_and_each_worker_pool_scale_on_their_own():
    deployments = manifests.k8s_of_kind("Deployment")
    commands = manifests.k8s_commands()
    pools = {name for name in deployments if manifests.celery_role(commands[name]) == "worker"}
    assert len(pools) == len(manifests.consumed_queues(commands)) and "atmp-clinic-web" in deployments


def test_migrations_run_as_a_job():
    jobs = manifests.k8s_of_kind("Job")
    assert [job["spec"]["template"]["spec"]["containers"][0]["command"][-2:] for job in jobs.values()] == [
        ["migrate", "--noinput"]
    ]


def test_the_web_service_selects_the_web_pods():
    service = manifests.k8s_of_kind("Service")["atmp-clinic-web"]
    labels = manifests.k8s_of_kind("Deployment")["atmp-clinic-web"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


@pytest.mark.parametrize("workload", manifests.pod_specs())
def test_each_pod_runs_as_a_user_that_is_not_root(workload):
    pod = manifests.pod_specs()[workload]
    context = pod["securityContext"]
    containers = [c["securityContext"] for c in pod["containers"]]
    assert (context["runAsNonRoot"], context["runAsUser"] > 0) == (True, True)
    assert all(
        c["allowPrivilegeEscalation"] is False and c["capabilities"]["drop"] == ["ALL"] for c in containers
    )


@pytest.mark.parametrize("workload", manifests.pod_specs())
def test_each_container_has_requests_and_a_memory_limit(workload):
    for container in manifests.pod_specs()[workload]["containers"]:
        resources = container["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys() and "memory" in resources["limits"]


@pytest.mark.parametrize("workload", manifests.pod_specs())
def test_each_container_reads_the_config_map_and_the_secret(workload):
    for container in manifests.pod_specs()[workload]["containers"]:
        sources = {next(iter(source)): next(iter(source.values()))["name"] for source in container["envFrom"]}
        assert sources == {"configMapRef": CONFIG_MAP, "secretRef": SECRET}


def image_static_root() -> str:
    """Where the image has the collected static files: STATIC_ROOT, VAR_DIR/static, with the
    Dockerfile's VAR_DIR."""
    dockerfile = (manifests.DEPLOY_DIR / "Dockerfile").read_text()
    return re.search(r"^ENV .*\bVAR_DIR=(\S+)", dockerfile, re.MULTILINE).group(1) + "/static"


@pytest.mark.parametrize("workload", manifests.pod_specs())
def test_no_volume_hides_the_static_files_of_the_image(workload):
    """An emptyDir on /tmp would leave whitenoise nothing to serve: every page without its CSS."""
    static = image_static_root()
    mounts = [
        m["mountPath"] for c in manifests.pod_specs()[workload]["containers"] for m in c["volumeMounts"]
    ]
    assert [path for path in mounts if static == path or static.startswith(path.rstrip("/") + "/")] == []
