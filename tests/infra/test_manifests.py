"""The deployment files in infra/ parse, follow their schemas and agree with the code.

Kubernetes objects are checked against the Kubernetes JSON schemas (kubernetes-validate, strict: an unknown field
fails) and the compose file against the Compose specification (check-jsonschema's bundled schema). Beyond the
schemas: every Service and autoscaler points at something that exists, every Celery queue has a worker, the chat
worker runs on gevent, beat is a single replica that never overlaps, the migration Job uses the skip gate.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from config.celery import Queue

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
COMPOSE = ROOT / "infra" / "compose.yaml"
K8S_VERSION = "1.33.0"
CRDS = {"keda.sh/v1alpha1"}  # custom resources: no schema in the Kubernetes set, checked by hand below


def _objects() -> list[tuple[str, dict[str, Any]]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    found = []
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text()):
            if doc:
                found.append((name, doc))
    return found


OBJECTS = _objects()


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in OBJECTS if doc["kind"] == kind}


def _command(deployment: dict[str, Any]) -> list[str]:
    return list(deployment["spec"]["template"]["spec"]["containers"][0]["command"])


def test_every_manifest_file_is_in_the_kustomization():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}

    assert present == listed


@pytest.mark.parametrize(
    "doc", [pytest.param(doc, id=f"{f}:{doc['kind']}/{doc['metadata']['name']}") for f, doc in OBJECTS]
)
def test_object_is_valid_kubernetes(doc):
    if doc["apiVersion"] in CRDS:
        assert doc["kind"] == "ScaledObject"
        assert doc["spec"]["scaleTargetRef"]["name"] in _by_kind("Deployment")
        assert all(trigger["type"] == "redis" for trigger in doc["spec"]["triggers"])
        return

    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_services_select_pods_of_a_deployment():
    deployments = _by_kind("Deployment")
    for name, service in _by_kind("Service").items():
        selector = service["spec"]["selector"]
        matching = [
            d for d in deployments.values() if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert matching, f"Service {name} selects no pods"


def test_deployment_selectors_match_their_pod_labels():
    for name, deployment in _by_kind("Deployment").items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name


def test_every_queue_has_a_worker_and_the_chat_worker_is_gevent():
    workers = {name: _command(d) for name, d in _by_kind("Deployment").items() if "worker" in _command(d)}
    served = {queue for command in workers.values() for queue in command[command.index("-Q") + 1].split(",")}

    assert served == {q.value for q in Queue}
    chat = next(command for command in workers.values() if command[command.index("-Q") + 1] == "chat")
    assert chat[chat.index("-P") + 1] == "gevent"


def test_each_queue_has_an_autoscaler_on_its_backlog():
    scaled = {doc["spec"]["triggers"][0]["metadata"]["listName"] for _, doc in OBJECTS if doc["kind"] == "ScaledObject"}

    assert scaled == {q.value for q in Queue}


def test_beat_is_one_replica_that_never_overlaps():
    beat = _by_kind("Deployment")["beat"]

    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"


def test_web_and_stream_probe_health_and_readiness():
    for name, ready in (("web", "/readyz"), ("stream", "/healthz")):  # the stream server has no database
        container = _by_kind("Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == ready
    assert _command(_by_kind("Deployment")["stream"])[:2] == ["uvicorn", "config.asgi:application"]


def test_ingress_has_a_wildcard_host_with_tls_and_routes_streams():
    ingress = next(iter(_by_kind("Ingress").values()))
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    tls_hosts = {host for entry in ingress["spec"]["tls"] for host in entry["hosts"]}
    wildcard = next(rule for rule in ingress["spec"]["rules"] if rule["host"].startswith("*."))
    backends = {p["path"]: p["backend"]["service"]["name"] for p in wildcard["http"]["paths"]}

    assert any(host.startswith("*.") for host in hosts)
    assert set(hosts) <= tls_hosts
    assert backends == {"/stream/": "stream", "/mcp/": "stream", "/": "web"}


def test_migration_job_uses_the_skip_gate():
    job = _by_kind("Job")["chatstudio-migrate"]
    command = " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])

    assert "migrate_teams" in command
    assert "migrate_schemas" not in command


def test_every_command_named_in_infra_exists():
    from django.core.management import get_commands

    assert {"migrate_teams", "seed_catalog"} <= set(get_commands())


def test_compose_file_follows_the_compose_specification():
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_every_process_and_routes_streams_through_nginx():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    nginx = (ROOT / "infra" / "nginx" / "default.conf.template").read_text()

    assert {"web", "stream", "beat", "postgres", "redis", "nginx", "migrate"} <= set(services)
    assert "pgvector" in services["postgres"]["image"]
    queues = {s["command"][s["command"].index("-Q") + 1] for s in services.values() if "-Q" in s.get("command", [])}
    assert queues == {q.value for q in Queue}
    assert "location /stream/" in nginx
    assert "location /mcp/" in nginx
    assert "proxy_pass http://stream" in nginx
    assert "*.${BASE_DOMAIN}" in nginx


def test_dockerfile_builds_assets_then_a_python_runtime():
    dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
    stages = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")]

    assert stages[0].startswith("node:")
    assert stages[-1].startswith("python:3.11")
    assert "npm run build" in dockerfile
    assert "--from=assets" in dockerfile
