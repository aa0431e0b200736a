"""deploy/compose.yaml and the nginx config it mounts.

The file is checked against the Compose Specification's JSON schema (compose-spec/compose-spec,
schema/compose-spec.json, Apache-2.0; compose-spec.json here is the revision Docker Compose v2.40.3
validates with). `docker compose config` cannot run here: Docker's compose plugin is not in Debian
bookworm, whose docker-compose 1.29 refuses the current specification (the top-level `name`), and
PyPI has it only as a third party's repackaged binary. The schema rejects what Compose would
(unknown keys, wrong types, a misspelt condition); the tests below add the cross-references that
`config` resolves (dependencies, volumes, variables)."""

import json
import re
from pathlib import Path

import jsonschema

from tests.deploy import manifests

SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
ENV_EXAMPLE = manifests.DEPLOY_DIR / "env.example"


def schema_errors(document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_the_compose_file_follows_the_compose_specification():
    assert schema_errors(manifests.compose()) == []


def test_the_schema_check_catches_a_misspelt_key():
    document = manifests.compose()
    document["services"]["web"]["helthcheck"] = document["services"]["web"].pop("healthcheck")
    assert schema_errors(document) == ["services/web: 'helthcheck' does not match any of the regexes: '^x-'"]


def test_every_dependency_is_a_service():
    services = manifests.compose()["services"]
    needed = {name for service in services.values() for name in service.get("depends_on", {})}
    assert needed - set(services) == set()


def test_every_named_volume_is_declared():
    document = manifests.compose()
    mounted = {
        volume.split(":", 1)[0]
        for service in document["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/", "$"))  # not a path on the host
    }
    assert mounted - set(document["volumes"]) == set()


def test_every_file_the_stack_mounts_is_in_deploy():
    # ./certs is the operator's: the site's certificate never comes from the repository.
    mounted = {
        volume.split(":", 1)[0]
        for service in manifests.compose()["services"].values()
        for volume in service.get("volumes", [])
        if volume.startswith("./") and not volume.startswith("./certs:")
    }
    assert mounted and all((manifests.DEPLOY_DIR / path).is_file() for path in mounted)


def test_every_variable_the_file_reads_is_in_env_example():
    used = set(re.findall(r"\$\{(\w+)", manifests.COMPOSE_FILE.read_text()))
    documented = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line}
    assert used - documented == set()


def test_only_the_proxy_is_published():
    services = manifests.compose()["services"]
    assert {name for name, service in services.items() if service.get("ports")} == {"proxy"}


def test_the_proxy_forwards_to_gunicorn_on_web():
    upstream = re.search(r"upstream \w+ \{\s*server ([\w.-]+):(\d+);", manifests.NGINX_CONF.read_text())
    services = manifests.compose()["services"]
    assert (upstream.group(1), upstream.group(2)) == ("web", services["web"]["expose"][0])


def test_the_proxy_tells_django_the_request_came_over_https():
    # settings.SECURE_PROXY_SSL_HEADER reads X-Forwarded-Proto; without it every page redirects.
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in manifests.NGINX_CONF.read_text()


def test_the_proxy_serves_nothing_from_elsewhere():
    urls = re.findall(r"\bhttps?://\S+", manifests.NGINX_CONF.read_text())
    assert sorted(urls) == ["http://clinic_web;", "https://$host$request_uri;"]
