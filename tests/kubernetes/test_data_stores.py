"""Redis and PostgreSQL get what Compose gives them: the same redis.conf, passwords and initdb script."""

import base64

import pytest
import yaml

from .compose_environment import service_environment
from .compose_interpolation import interpolate
from .rendering import ROOT


def mounted(rendering, pod, volume_kind: str, mount_path: str) -> dict:
    """The Secret or ConfigMap that the pod's main container has mounted at mount_path."""
    (mount,) = [m for m in pod.container().get("volumeMounts", []) if m["mountPath"] == mount_path]
    (volume,) = [v for v in pod.spec.get("volumes", []) if v["name"] == mount["name"]]
    assert mount.get("readOnly") is True, f"{pod.name}: {mount_path} is writable"
    if volume_kind == "Secret":
        return rendering.named("Secret", volume["secret"]["secretName"])
    return rendering.named("ConfigMap", volume["configMap"]["name"])


@pytest.mark.parametrize("redis", ["resource-redis", "team-redis"])
def test_redis_configuration(rendering, redis):
    pod = rendering.pods[redis]
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    expected = interpolate(compose["configs"]["redis-conf"]["content"], rendering.env)
    secret = mounted(rendering, pod, "Secret", "/etc/redis")
    assert base64.b64decode(secret["data"]["redis.conf"]).decode().splitlines() == expected.splitlines()
    container = pod.container()
    assert [*container.get("command", []), *container.get("args", [])] == compose["services"]["redis"]["command"]
    assert pod.labels["app.kubernetes.io/component"] == "cache"
    # A token cache: nothing kept (save "", appendonly no), so no PersistentVolumeClaim.
    assert not pod.workload["spec"].get("volumeClaimTemplates"), redis


def test_postgres(rendering):
    if rendering.overlay != "local":
        assert "postgres" not in rendering.pods, "production's databases are managed, not in the cluster"
        return
    pod = rendering.pods["postgres"]
    compose = service_environment([ROOT / "compose.yaml"], "postgres", rendering.env)
    environment = rendering.environment(pod.container(), "postgres")
    assert {name: environment.get(name) for name in compose} == compose
    initdb = mounted(rendering, pod, "ConfigMap", "/docker-entrypoint-initdb.d")
    script = (ROOT / "compose" / "postgres" / "initdb.d" / "10-databases.sh").read_text()
    assert initdb["data"] == {"10-databases.sh": script}
    claims = pod.workload["spec"].get("volumeClaimTemplates") or []
    assert claims, "postgres keeps its data on a PersistentVolumeClaim"
    data_mounts = [m for m in pod.container()["volumeMounts"] if m["name"] == claims[0]["metadata"]["name"]]
    assert data_mounts and data_mounts[0]["mountPath"].startswith("/var/lib/postgresql"), data_mounts


def test_postgres_first_start_outlasts_no_probe(rendering):
    """initdb and the init script run before PostgreSQL listens on 127.0.0.1: a startupProbe holds
    the liveness probe back for that long, or the kubelet restarts the container mid-init."""
    if rendering.overlay != "local":
        return
    container = rendering.pods["postgres"].container()
    startup = container.get("startupProbe")
    assert startup, "postgres: no startupProbe, so the liveness probe runs during first-start init"
    assert startup["exec"]["command"] == container["livenessProbe"]["exec"]["command"]
    budget = startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
    assert budget >= 300, f"postgres: {budget} s to start, initdb on a slow volume can take longer"
