"""Prometheus in Compose's metrics profile, which make test-compose turns on (docs/operations.md, "Dashboards").

It scrapes the three servers' metrics endpoints (port 9100 on the internal
metrics network, published nowhere), and its recording rules (compose/prometheus/rules.yml)
give the dashboard's figures once there is traffic.
"""

import json
import math
import os
import time

import pytest
import requests

from ..oauth import Client
from ..stack import ROOT, compose
from .containers import inspect

PROMETHEUS = f"http://127.0.0.1:{os.environ.get('PROMETHEUS_PORT', '9090')}"
JOBS = ("auth-server", "resource-server", "team-server")
# Each server's public URL (through the proxy).
PUBLIC = {"auth-server": "E2E_AUTH_URL", "resource-server": "E2E_RESOURCE_URL", "team-server": "E2E_TEAM_URL"}
# Two scrapes and a rule evaluation after the traffic that moves a rate (10s each), on a busy machine.
PATIENCE = 90

STATUS = "job_status:django_http_responses_total_by_status_view_method:rate1m"


def query(expression: str) -> list:
    """The instant vector of ``expression`` now: [{"metric": {...}, "value": [time, "text"]}, ...]."""
    response = requests.get(f"{PROMETHEUS}/api/v1/query", params={"query": expression}, timeout=10)
    assert response.status_code == 200, (expression, response.text)
    return response.json()["data"]["result"]


def value(expression: str) -> float | None:
    """The one sample of ``expression``, None while it has none (or NaN: no traffic in the window)."""
    result = query(expression)
    assert len(result) <= 1, result
    number = float(result[0]["value"][1]) if result else math.nan
    return None if math.isnan(number) else number


def targets() -> dict[str, list[str]]:
    """Each job's targets' health ("up", "down", "unknown")."""
    response = requests.get(f"{PROMETHEUS}/api/v1/targets", params={"state": "active"}, timeout=10)
    response.raise_for_status()
    health: dict[str, list[str]] = {}
    for target in response.json()["data"]["activeTargets"]:
        health.setdefault(target["labels"]["job"], []).append(target["health"])
    return health


def test_prometheus_is_ready_with_its_configuration_and_rules_checked():
    assert requests.get(f"{PROMETHEUS}/-/ready", timeout=10).status_code == 200

    config = compose("exec", "-T", "prometheus", "promtool", "check", "config", "/etc/prometheus/prometheus.yml")
    rules = compose("exec", "-T", "prometheus", "promtool", "test", "rules", "/etc/prometheus/rules_test.yml")

    assert "SUCCESS" in config.stdout and "rules found" in config.stdout, config.stdout
    assert "SUCCESS" in rules.stdout, rules.stdout


def test_every_server_is_a_target_and_up():
    health = targets()
    deadline = time.monotonic() + PATIENCE
    while {job: set(health.get(job, [])) for job in JOBS} != dict.fromkeys(JOBS, {"up"}):
        assert time.monotonic() < deadline, health
        time.sleep(2)
        health = targets()
    # One target per running replica of the first API (Docker's DNS, one A record each).
    replicas = compose("ps", "--quiet", "--status", "running", "resource-server").stdout.split()
    assert len(health["resource-server"]) == len(replicas)


def scale(replicas: int) -> None:
    up = ("up", "-d", "--no-build", "--no-deps", "--wait", "--wait-timeout", "120")
    compose(*up, "--scale", f"resource-server={replicas}", "resource-server")


def test_each_replica_of_the_first_api_is_a_target_of_its_own():
    scale(2)
    try:
        deadline = time.monotonic() + PATIENCE
        while (health := targets().get("resource-server", [])) != ["up", "up"] and time.monotonic() < deadline:
            time.sleep(2)
        assert health == ["up", "up"]
    finally:
        scale(1)


@pytest.fixture(scope="module")
def recorded(stack, team_api) -> dict[str, float | None]:
    """The recording rules' values once traffic has moved every rate, or what they were at the deadline."""
    client = Client(stack)
    team_token = client.client_credentials_token(scope="team:read")
    reused = client.client_credentials_token(scope="read")
    wanted = {
        "hit ratio": 'job:resource_server_token_cache_hits_per_requests:ratio_rate1m{job="resource-server"}',
        "p99": 'job:resource_server_introspection_duration_seconds:p99_rate1m{job="resource-server"}',
        "401": f'{STATUS}{{job="resource-server", status="401"}}',
        "403": f'{STATUS}{{job="resource-server", status="403"}}',
        "team 401": f'{STATUS}{{job="team-server", status="401"}}',
    }
    found: dict[str, float | None] = {}
    deadline = time.monotonic() + PATIENCE
    # A fresh token is a miss and an introspection, the reused one a hit, no token
    # a 401, a read-only token writing a 403.
    while time.monotonic() < deadline:
        fresh = client.client_credentials_token(scope="read")
        assert client.api("/api/me/", fresh).status_code == 200
        assert client.api("/api/me/", reused).status_code == 200
        assert client.api("/api/me/").status_code == 401
        assert client.api("/api/notes/", reused, method="POST", json={"text": "read only"}).status_code == 403
        assert client.api("/api/me/", team_token, at=team_api).status_code == 200
        assert client.api("/api/me/", at=team_api).status_code == 401
        found = {name: value(expression) for name, expression in wanted.items()}
        if all(found.values()):
            break
        time.sleep(1)
    return found


def test_the_recording_rules_give_the_hit_ratio_the_p99_latency_and_the_refusal_rates(recorded):
    assert all(recorded.values()), recorded
    # Fresh tokens miss, the reused one hits.
    assert 0 < recorded["hit ratio"] < 1, recorded
    # Within the introspection timeout (RESOURCE_SERVER_INTROSPECTION_TIMEOUT, 5 s).
    assert 0 < recorded["p99"] <= 5, recorded


def test_every_dashboard_query_is_answered(recorded):
    dashboard = json.loads((ROOT / "compose" / "grafana" / "dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]

    assert expressions
    # After the traffic, each panel shows a series.
    assert {expression: bool(query(expression)) for expression in expressions} == dict.fromkeys(expressions, True)


def test_prometheus_is_published_on_loopback_only_and_hardened():
    host = inspect("prometheus")["HostConfig"]

    bindings = host["PortBindings"]
    assert bindings == {"9090/tcp": [{"HostIp": "127.0.0.1", "HostPort": os.environ["PROMETHEUS_PORT"]}]}
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    # Not root: the official image runs as nobody.
    assert compose("exec", "-T", "prometheus", "id", "-u").stdout.strip() == "65534"


@pytest.mark.parametrize("service, url", PUBLIC.items())
def test_the_servers_metrics_port_is_published_nowhere(service, url):
    container = inspect(service)

    assert "9100/tcp" not in (container["HostConfig"]["PortBindings"] or {})
    assert not (container["NetworkSettings"]["Ports"] or {}).get("9100/tcp")
    # Prometheus scrapes it on the metrics network; the public port has no /metrics.
    assert requests.get(f"{os.environ[url]}/metrics", timeout=10).status_code == 404
