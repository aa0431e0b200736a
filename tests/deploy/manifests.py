"""deploy/'s three ways to run the app, read as data: which processes each starts, and which Celery
queues its workers consume."""

import configparser
import itertools
import re
import shlex
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
