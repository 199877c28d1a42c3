"""Every container: requests and limits, the restricted security context; servers: probes and a graceful stop."""

import ast
import re

import pytest

from .rendering import DEFAULT_IMAGE, PRODUCTION_URLS, ROOT

SERVERS = ("auth-server", "resource-server", "team-server")


def gunicorn_graceful_timeout() -> int:
    tree = ast.parse((ROOT / "shared" / "gunicorn_conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "graceful_timeout" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("shared/gunicorn_conf.py sets no graceful_timeout")


def test_the_workloads(rendering):
    expected = {
        "auth-server": "Deployment",
        "resource-server": "Deployment",
        "team-server": "Deployment",
        "auth-migrate": "Job",
        "auth-seed": "Job",
        "resource-migrate": "Job",
        "team-migrate": "Job",
        "auth-housekeeping": "CronJob",
        "resource-redis": "StatefulSet",
        "team-redis": "StatefulSet",
    }
    if rendering.overlay == "local":
        expected["postgres"] = "StatefulSet"
    assert {name: pod.kind for name, pod in rendering.pods.items()} == expected
    assert rendering.named("Deployment", "auth-server")["spec"]["replicas"] == 2


def test_resources(rendering):
    for pod in rendering.pods.values():
        for container in pod.containers():
            where = f"{pod.name}/{container['name']}"
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert set(resources.get(kind, {})) >= {"cpu", "memory"}, f"{where}: {kind} {resources.get(kind)}"


def test_security_context(rendering):
    for pod in rendering.pods.values():
        pod_context = pod.spec.get("securityContext", {})
        # No process here talks to the Kubernetes API; absent means the service account's token is mounted.
        assert pod.spec.get("automountServiceAccountToken") is False, f"{pod.name}: a service account token is mounted"
        for container in pod.containers():
            where = f"{pod.name}/{container['name']}"
            context = container.get("securityContext", {})
            merged = {**pod_context, **context}
            assert merged.get("runAsNonRoot") is True, f"{where}: runAsNonRoot"
            assert merged.get("runAsUser", 1) != 0, f"{where}: runAsUser 0"
            assert context.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem"
            assert context.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation"
            assert context.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: capabilities {context}"
            assert not context.get("capabilities", {}).get("add"), f"{where}: adds capabilities"
            assert context.get("privileged") is not True, where
            assert merged.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{where}: seccompProfile"


def test_app_image(rendering):
    image = PRODUCTION_URLS["APP_IMAGE"] if rendering.overlay == "production" else DEFAULT_IMAGE
    for pod in rendering.pods.values():
        if pod.labels.get("app.kubernetes.io/instance") == "postgres" or pod.name.endswith("-redis"):
            continue
        for container in pod.containers():
            where = f"{pod.name}/{container['name']}"
            assert container["image"] == image, where
            # The image's ENTRYPOINT (shared/entrypoint.sh) stays: the command goes in args.
            assert "command" not in container, f"{where}: command replaces the image's ENTRYPOINT"
            assert "envFrom" not in container, f"{where}: envFrom gives every variable of a ConfigMap"


def test_writable_tmp(rendering):
    """A read-only root: /tmp (gunicorn's heartbeat files, Python's temporary files) is an emptyDir."""
    for pod in rendering.pods.values():
        if pod.labels.get("app.kubernetes.io/instance") == "postgres" or pod.name.endswith("-redis"):
            continue
        empty = {volume["name"] for volume in pod.spec.get("volumes", []) if "emptyDir" in volume}
        for container in pod.containers():
            tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in empty and not tmp[0].get("readOnly"), f"{pod.name}/{container['name']}"


@pytest.mark.parametrize("server", SERVERS)
def test_probes(rendering, server):
    container = rendering.pods[server].container()
    expected_paths = {"startupProbe": "/livez", "livenessProbe": "/livez", "readinessProbe": "/readyz"}
    for probe, path in expected_paths.items():
        assert probe in container, f"{server}: no {probe}"
        check = container[probe].get("httpGet")
        assert check, f"{server}: {probe} is not an HTTP GET"
        assert check["path"] == path, f"{server}: {probe} asks {check['path']}"
        assert check["port"] in (8000, "http"), f"{server}: {probe} port {check['port']}"
        assert {"name": "Host", "value": server} in check.get("httpHeaders", []), f"{server}: {probe} Host header"
    ports = {port["containerPort"]: port for port in container["ports"]}
    assert 8000 in ports, f"{server}: ports {sorted(ports)}"
    if container["readinessProbe"]["httpGet"]["port"] == "http":
        assert ports[8000].get("name") == "http"


@pytest.mark.parametrize("server", SERVERS)
def test_graceful_shutdown(rendering, server):
    pod = rendering.pods[server]
    container = pod.container()
    command = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
    assert command, f"{server}: no preStop exec"
    sleep = re.fullmatch(r"(?:/bin/)?sleep (\d+)", " ".join(command))
    assert sleep, f"{server}: preStop runs {command}"
    grace = pod.spec.get("terminationGracePeriodSeconds", 30)
    timeout = gunicorn_graceful_timeout()
    assert grace > int(sleep.group(1)) + timeout, f"{server}: {grace} s <= preStop {sleep.group(1)} s + {timeout} s"
