"""deploy/'s three ways to run the app, read as data: which processes each starts, which Celery
queues its workers consume, and the environment, directories and ports each process starts with."""

import configparser
import itertools
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.conftest import PROJECT_DIR

DEPLOY_DIR = PROJECT_DIR / "deploy"
COMPOSE_FILE = DEPLOY_DIR / "compose.yaml"
NGINX_CONF = DEPLOY_DIR / "nginx.conf"
SYSTEMD_DIR = DEPLOY_DIR / "systemd"
SYSTEMD_TARGET = SYSTEMD_DIR / "atmp-clinic.target"
K8S_DIR = DEPLOY_DIR / "k8s"
PROCFILE = PROJECT_DIR / "Procfile.dev"


def celery_role(command: list[str]) -> str | None:
    """'worker' or 'beat' for a `celery --app atmp_clinic …` command line, else None."""
    if not command or Path(command[0]).name != "celery":
        return None
    return next((word for word in command if word in ("worker", "beat")), None)


def worker_queues(command: list[str]) -> set[str]:
    """The queues a worker command names. Every worker in deploy/ names its own: one without would
    consume all of them, and the per-queue pools would be pools in name only."""
    for flag, value in itertools.pairwise(command):
        if flag in ("--queues", "-Q"):
            return set(value.split(","))
    return set()


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_commands() -> dict[str, list[str]]:
    """Each compose service's command, YAML merge keys (`<<: *app`) resolved."""
    return {name: service.get("command", []) for name, service in compose()["services"].items()}


def systemd_unit(path: Path) -> configparser.ConfigParser:
    # systemd allows a key more than once (Wants=, Environment=): kept as one value, lines joined.
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string(_join_repeated_keys(path.read_text()))
    return parser


def _join_repeated_keys(text: str) -> str:
    lines, seen = [], {}
    section = ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line
        elif "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            if (section, key) in seen:
                lines[seen[(section, key)]] += " " + value
                continue
            seen[(section, key)] = len(lines)
        lines.append(line)
    return "\n".join(lines)


def systemd_started_units() -> list[str]:
    """The units atmp-clinic.target starts, template instances named (worker@reminders.service)."""
    return systemd_unit(SYSTEMD_TARGET)["Unit"]["Wants"].split()


def systemd_unit_file(unit: str) -> Path:
    """The file of a unit: a template's for an instance (worker@reminders.service: worker@.service)."""
    return SYSTEMD_DIR / re.sub(r"@[^.]+\.", "@.", unit)


def systemd_commands() -> dict[str, list[str]]:
    """ExecStart of each unit the target starts, with a template's %i replaced by its instance."""
    commands = {}
    for unit in systemd_started_units():
        instance = unit.split("@", 1)[1].rsplit(".", 1)[0] if "@" in unit else ""
        exec_start = systemd_unit(systemd_unit_file(unit))["Service"]["ExecStart"]
        commands[unit] = shlex.split(exec_start.replace("%i", instance))
    return commands


def k8s_files() -> list[Path]:
    return sorted(path for path in K8S_DIR.glob("*.yaml") if path.name != "kustomization.yaml")


def k8s_documents() -> list[dict]:
    return [doc for path in k8s_files() for doc in yaml.safe_load_all(path.read_text()) if doc]


def k8s_of_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in k8s_documents() if doc["kind"] == kind}


def pod_specs() -> dict[str, dict]:
    """The pod spec of every Deployment and Job, by its name."""
    workloads = {**k8s_of_kind("Deployment"), **k8s_of_kind("Job")}
    return {name: doc["spec"]["template"]["spec"] for name, doc in workloads.items()}


def k8s_commands() -> dict[str, list[str]]:
    """Each Deployment's container commands (one container each), by Deployment name."""
    return {
        name: doc["spec"]["template"]["spec"]["containers"][0]["command"]
        for name, doc in k8s_of_kind("Deployment").items()
    }


def procfile_commands() -> dict[str, list[str]]:
    lines = (line.split(":", 1) for line in PROCFILE.read_text().splitlines() if ":" in line)
    return {name.strip(): shlex.split(command) for name, command in lines}


def consumed_queues(commands: dict[str, list[str]]) -> set[str]:
    return set().union(*(worker_queues(c) for c in commands.values() if celery_role(c) == "worker"))


def beats(commands: dict[str, list[str]]) -> list[str]:
    return [name for name, command in commands.items() if celery_role(command) == "beat"]


@dataclass(frozen=True)
class Process:
    """One process a deployment starts, as far as logs and metrics go."""

    command: list[str]
    env: dict[str, str]  # what it starts with, from the deployment itself (not the secret env file)
    fresh_dirs: frozenset[str]  # new and empty at each start: tmpfs, RuntimeDirectory, emptyDir
    exposed_ports: frozenset[int]  # reachable by other containers or pods, never published
    reads_secrets: bool  # deploy/.env, /etc/atmp-clinic/env or the Secret

    @property
    def role(self) -> str | None:
        """'web', 'worker' or 'beat'."""
        if self.command and Path(self.command[0]).name == "gunicorn":
            return "web"
        return celery_role(self.command)


def image_command() -> list[str]:
    """The Dockerfile's CMD: what a compose service of the image runs without a command of its own."""
    dockerfile = (DEPLOY_DIR / "Dockerfile").read_text()
    return json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1))


def compose_processes() -> dict[str, Process]:
    """The services of our image (not PostgreSQL's, Redis's or nginx's)."""
    services = compose()["services"]
    return {
        name: Process(
            command=service.get("command") or image_command(),
            env={key: str(value) for key, value in service.get("environment", {}).items()},
            fresh_dirs=frozenset(mount.split(":", 1)[0] for mount in service.get("tmpfs", [])),
            exposed_ports=frozenset(int(port) for port in service.get("expose", [])),
            reads_secrets=service.get("env_file") == ".env",
        )
        for name, service in services.items()
        if "build" in service
    }


def _environment(value: str, instance: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in shlex.split(value.replace("%i", instance)))


def systemd_processes() -> dict[str, Process]:
    """The units the target starts, with their drop-ins (the template's and the instance's)."""
    processes = {}
    for unit in systemd_started_units():
        instance = unit.split("@", 1)[1].rsplit(".", 1)[0] if "@" in unit else ""
        service = systemd_unit(systemd_unit_file(unit))["Service"]
        env = _environment(service.get("Environment", ""), instance)
        for folder in {systemd_unit_file(unit).name, unit}:
            for drop_in in sorted((SYSTEMD_DIR / f"{folder}.d").glob("*.conf")):
                env |= _environment(systemd_unit(drop_in)["Service"].get("Environment", ""), instance)
        runtime = service.get("RuntimeDirectory", "").replace("%i", instance).split()
        processes[unit] = Process(
            command=systemd_commands()[unit],
            env=env,
            fresh_dirs=frozenset(f"/run/{directory}" for directory in runtime),
            exposed_ports=frozenset(),
            reads_secrets=service.get("EnvironmentFile") == "/etc/atmp-clinic/env",
        )
    return processes


def k8s_processes() -> dict[str, Process]:
    """Each Deployment's container; its environment is the ConfigMap's and the container's own
    (a value from a field of the pod written as `fieldRef:PATH`)."""
    config = {name: doc["data"] for name, doc in k8s_of_kind("ConfigMap").items()}
    processes = {}
    for name, deployment in k8s_of_kind("Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                env |= config[source["configMapRef"]["name"]]
        for variable in container.get("env", []):
            field = variable.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            env[variable["name"]] = variable.get("value", f"fieldRef:{field}")
        empty_dirs = {volume["name"] for volume in pod.get("volumes", []) if "emptyDir" in volume}
        processes[name] = Process(
            command=container["command"],
            env=env,
            fresh_dirs=frozenset(
                m["mountPath"] for m in container["volumeMounts"] if m["name"] in empty_dirs
            ),
            exposed_ports=frozenset(port["containerPort"] for port in container.get("ports", [])),
            reads_secrets=any("secretRef" in source for source in container.get("envFrom", [])),
        )
    return processes
