"""deploy/: every Kubernetes manifest renders and validates offline, and the Dagster Helm values
name our code location and the K8s run launcher.

`kubectl kustomize` renders each overlay without a cluster; `kubernetes-validate` checks every
rendered document against Kubernetes' own schemas (strict: an unknown field is an error).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bench.harness import REPO
from realtime_worker.fleet.config import check_file

DEPLOY = REPO / "deploy"
OVERLAYS = sorted(path for path in (DEPLOY / "k8s" / "overlays").iterdir() if path.is_dir())
SECRETS = {"camcount-worker-db", "camcount-admin-db", "camcount-api", "camcount-camera-credentials"}


def render(overlay: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: scripts/install_system.sh installs Debian's kubernetes-client"
    done = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def referenced_secrets(docs: list[dict[str, Any]]) -> set[str]:
    names = set()
    for doc in docs:
        if doc["kind"] not in ("StatefulSet", "Deployment", "Job"):
            continue
        for container in containers(doc):
            names |= {ref["secretRef"]["name"] for ref in container.get("envFrom", []) if "secretRef" in ref}
            names |= {env["valueFrom"]["secretKeyRef"]["name"] for env in container.get("env", [])
                      if "secretKeyRef" in env.get("valueFrom", {})}
    return names


def base_name(name: str) -> str:
    """A generated ConfigMap's or Secret's name without kustomize's hash suffix."""
    return re.sub(r"-[a-z0-9]{10}$", "", name)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_overlay_renders_and_every_document_validates(overlay: Path) -> None:
    docs = render(overlay)
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay.name}: {doc['kind']} {doc['metadata']['name']}: {exc.path}: {exc.message}")

    kinds = {doc["kind"] for doc in docs}
    assert {"StatefulSet", "PodDisruptionBudget", "Job", "Deployment", "Service", "ConfigMap"} <= kinds
    worker = by_kind(docs, "StatefulSet")["camcount-worker"]
    [main] = worker["spec"]["template"]["spec"]["containers"]
    assert main["args"][:3] == ["worker", "run", "--fleet"]
    assert main["readinessProbe"]["httpGet"]["port"] == main["livenessProbe"]["httpGet"]["port"] == "metrics"
    worker_id = next(env for env in main["env"] if env["name"] == "CAMCOUNT_WORKER_ID")
    assert worker_id["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    pdb = by_kind(docs, "PodDisruptionBudget")["camcount-worker"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= worker["spec"]["template"]["metadata"]["labels"].items()

    job = by_kind(docs, "Job")["camcount-cameras-apply"]
    [apply] = job["spec"]["template"]["spec"]["containers"]
    assert apply["args"][:2] == ["cameras", "apply"]
    cameras_volume = next(v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "cameras")
    assert base_name(cameras_volume["configMap"]["name"]) == "camcount-cameras"
    [serve] = by_kind(docs, "Deployment")["camcount-api"]["spec"]["template"]["spec"]["containers"]
    assert serve["args"][0] == "serve"
    assert by_kind(docs, "Service")["timescaledb"]["spec"]["type"] == "ExternalName"
    assert referenced_secrets(docs) == SECRETS
    for url in database_urls(docs):
        assert "sslmode=verify-full" in url and "sslrootcert=" in url, url


def database_urls(docs: list[dict[str, Any]]) -> list[str]:
    """The database URLs the overlay's own Secrets carry (production brings its Secrets itself)."""
    import base64

    return [base64.b64decode(value).decode() for doc in docs if doc["kind"] == "Secret"
            for key, value in doc.get("data", {}).items() if key.endswith("URL") or key == "url"]


def test_production_workers_request_a_gpu_each() -> None:
    docs = render(DEPLOY / "k8s" / "overlays" / "production")
    [main] = by_kind(docs, "StatefulSet")["camcount-worker"]["spec"]["template"]["spec"]["containers"]
    assert main["resources"]["requests"]["nvidia.com/gpu"] == main["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert not [doc for doc in docs if doc["kind"] == "Secret"], "production Secrets come from a secrets manager"


def test_a_wrong_manifest_is_caught() -> None:
    """The validation is real: a wrong type and an unknown field both fail."""
    doc = by_kind(render(DEPLOY / "k8s" / "overlays" / "dev"), "StatefulSet")["camcount-worker"]
    version = kubernetes_validate.latest_version()
    for broken in ({**doc, "spec": {**doc["spec"], "replicas": "two"}},
                   {**doc, "spec": {**doc["spec"], "replica": 2}}):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, version, strict=True)


def test_dagster_helm_values_name_our_code_location_and_the_k8s_run_launcher() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "dagster-values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    [location] = values["dagster-user-deployments"]["deployments"]
    assert location["name"] == "camcount"
    args = location["dagsterApiGrpcArgs"]
    module = args[args.index("--module-name") + 1]
    assert module == "camcount_pipelines.definitions" and importlib.util.find_spec(module) is not None
    postgres = values["postgresql"]
    assert postgres["enabled"] is False, "Dagster's storage is our Postgres server, not the chart's"
    assert postgres["postgresqlParams"]["sslmode"] == "verify-full"
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert launcher["envSecrets"] == location["envSecrets"], "runs see the database the code location sees"


@pytest.mark.parametrize("dockerfile", sorted((DEPLOY / "docker").glob("*.Dockerfile")), ids=lambda p: p.name)
def test_dockerfiles_copy_what_exists(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    for line in text.splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), f"{dockerfile.name}: {line}"
    if dockerfile.name == "worker.Dockerfile":
        assert re.search(r"^FROM nvidia/cuda:\S+-runtime", text, re.M), "the worker runs on a CUDA runtime base"


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_the_cameras_file_the_job_applies_is_a_valid_fleet_config(overlay: Path) -> None:
    _, config = check_file(overlay / "cameras.yaml")  # what `camcount cameras apply` checks
    assert config.health.metrics_host == "0.0.0.0", "the kubelet probes /metrics on the pod's address"
    assert config.health.metrics_port == 9464
