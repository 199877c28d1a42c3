"""Each server's metrics endpoint: the gunicorn master's sum over its workers, apart from the public port.

The HTTP series are django-prometheus's, by view (the URL's name), method and
status. Requests go over connections of their own until each of the shipped two
workers has served some, so a sum that missed a worker's files would fall short.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from shared import metrics, serve

from .metrics import Samples, scrape
from .raw_http import send as send_as_written
from .stack import ROOT, Server, free_port, manage, resource_server_environment, seed_secrets, wait_healthy
from .test_revocation_push import server_at

RESPONSES = "django_http_responses_total_by_status_view_method_total"
DURATIONS = "django_http_requests_latency_seconds_by_view_method_count"
# Your own gunicorn, as docs/operations.md runs it (no shared.serve), in the resource server's project.
OWN_GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:shared.gunicorn_conf", "config.wsgi"]
# A view of each server that nothing else calls meanwhile (Compose's healthchecks call /healthz).
QUIET_VIEWS = {
    "auth": ("/.well-known/oauth-authorization-server", "oauth2_provider:oauth-server-metadata", 200),
    "resource": ("/api/me/", "me", 401),  # no token: refused before any introspection
}
# The methods django-prometheus names (RFC 9110's and PATCH, RFC 5789), and its word for any other.
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH", "<invalid method>"}


def url_of(stack, server: str) -> str:
    return stack.auth_url if server == "auth" else stack.resource_url


def on_a_connection_of_its_own(server: Server, path: str) -> tuple[int, int | None]:
    """GET ``path``: the status, and the worker that served it."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, server.worker_serving(connection.sock.getsockname()[1])
    finally:
        connection.close()


def send(stack, server: str, count: int) -> list[int]:
    """``count`` GETs of ``server``'s quiet view, or more locally until each worker has served some: the statuses."""
    path = QUIET_VIEWS[server][0]
    running = server_at(stack, url_of(stack, server))
    if running is None:  # Compose: the kernel of the container spreads the connections
        return [requests.get(f"{url_of(stack, server)}{path}", timeout=15).status_code for _ in range(count)]
    workers = set(running.workers())
    assert len(workers) == 2  # as shipped
    answers = []
    while len(answers) < count or {worker for _, worker in answers} != workers:
        assert len(answers) < 10 * count, f"some worker served none of {len(answers)} connections"
        answers.append(on_a_connection_of_its_own(running, path))
    return [status for status, _ in answers]


@pytest.mark.parametrize("server", ["auth", "resource"])
def test_the_metrics_endpoint_serves_prometheus_text(stack, server):
    samples = stack.metrics(server)

    assert RESPONSES in samples.names()
    assert samples.value(RESPONSES) > 0  # the stack's start called /healthz


@pytest.mark.local_stack
@pytest.mark.parametrize("server", ["auth", "resource"])
def test_the_metrics_endpoint_is_the_masters_and_answers_in_the_text_format(stack, server):
    running = server_at(stack, url_of(stack, server))

    response = requests.get(running.metrics_url, timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert Samples.parse(response.text).value(RESPONSES) > 0


@pytest.mark.parametrize("server", ["auth", "resource"])
def test_the_public_port_has_no_metrics(stack, server):
    response = requests.get(f"{url_of(stack, server)}/metrics", timeout=10)

    assert response.status_code == 404
    assert "django_http" not in response.text


@pytest.mark.parametrize("server", ["auth", "resource"])
def test_the_response_counter_moves_by_exactly_the_requests_served_summed_over_the_workers(stack, server):
    _, view, status = QUIET_VIEWS[server]
    before = stack.metrics(server)

    statuses = send(stack, server, 20)
    after = stack.metrics(server)

    assert statuses == [status] * len(statuses)
    assert after.delta(before, RESPONSES, view=view, method="GET", status=str(status)) == len(statuses)
    assert after.delta(before, DURATIONS, view=view, method="GET") == len(statuses)


@pytest.mark.parametrize("server", ["auth", "resource"])
def test_made_up_methods_and_unknown_paths_add_no_series(stack, server):
    """gunicorn lets through any upper-case method of 3 to 20 characters, and Django any path:
    a label taken from either would give each request a series of its own, without end."""
    made_up = [f"PROBE{chr(ord('A') + number)}" for number in range(20)]
    path = QUIET_VIEWS[server][0]
    for method in made_up:
        assert send_as_written(url_of(stack, server), method, path).status in (400, 401, 403, 405)
    for number in range(20):
        assert send_as_written(url_of(stack, server), "GET", f"/probe-{number}/").status == 404

    samples = stack.metrics(server)

    methods = {sample.labels["method"] for sample in samples.samples if "method" in sample.labels}
    assert methods <= KNOWN_METHODS, sorted(methods - KNOWN_METHODS)
    views = {sample.labels["view"] for sample in samples.samples if "view" in sample.labels}
    assert not [view for view in views if "probe" in view], sorted(views)
    assert samples.value(DURATIONS, view="<unnamed view>", method="GET") >= 20
    assert samples.value(DURATIONS, method="<invalid method>") >= len(made_up)


@pytest.mark.local_stack
def test_a_killed_worker_takes_none_of_the_totals_with_it(stack):
    """gunicorn replaces a worker killed outright; the totals it had counted stay in the sum (no rate() jump)."""
    running = server_at(stack, stack.resource_url)
    _, view, status = QUIET_VIEWS["resource"]
    statuses = send(stack, "resource", 10)
    before = stack.metrics("resource")
    workers = set(running.workers())

    os.kill(min(workers), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while len(set(running.workers()) - workers) != 1 or len(running.workers()) != 2:
        assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
        time.sleep(0.2)
    after_restart = stack.metrics("resource")
    statuses += send(stack, "resource", 10)
    after = stack.metrics("resource")

    counters = {sample.name for sample in before.samples if sample.name.endswith(("_total", "_count", "_bucket"))}
    dropped = {name: after_restart.delta(before, name) for name in counters if after_restart.delta(before, name) < 0}
    assert dropped == {}
    assert after_restart.delta(before, RESPONSES, view=view) == 0
    assert after.delta(before, RESPONSES, view=view, method="GET", status=str(status)) == len(statuses) - 10


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", None), ("  ", None), ("127.0.0.1:9100", ("127.0.0.1", 9100)), ("[::1]:9100", ("::1", 9100))],
)
def test_a_metrics_bind_is_host_and_port(value, expected):
    assert metrics.parse_bind(value) == expected


@pytest.mark.parametrize("value", ["9100", ":9100", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:0", "h:65536"])
def test_a_bad_metrics_bind_is_refused_naming_the_variable(value):
    with pytest.raises(metrics.ConfigurationError, match="GUNICORN_METRICS_BIND must be host:port"):
        metrics.parse_bind(value)


@pytest.mark.parametrize("busy", [False, True], ids=["not-a-port", "port-in-use"])
def test_a_bad_metrics_port_under_make_run_is_one_line(tmp_path, busy):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1]) if busy else "ninety-one-hundred"
        database = f"sqlite:///{tmp_path}/rs.sqlite3"
        env = resource_server_environment("http://127.0.0.1:9", "credentials", seed_secrets(), database)
        command = [sys.executable, "-m", "shared.serve", "resource"]
        env["RS_METRICS_PORT"] = port
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode != 0
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith("resource_server: configuration error: GUNICORN_METRICS_BIND")
    assert ("Address already in use" if busy else "RS_METRICS_PORT") in result.stderr


def test_make_run_gives_each_server_its_own_metrics_port_and_directory(monkeypatch):
    """An exported PROMETHEUS_MULTIPROC_DIR would be the three servers' at once, their counts added up."""
    monkeypatch.setattr(serve.subprocess, "Popen", lambda command, cwd, env: env)
    monkeypatch.setenv("DJANGO_READ_DOT_ENV_FILE", "false")  # the default for an unset port, whatever .env says
    for variable, port in (("AS_METRICS_PORT", "19100"), ("RS_METRICS_PORT", "19101"), ("TEAM_RS_METRICS_PORT", "")):
        monkeypatch.setenv(variable, port)

    exported = {"PROMETHEUS_MULTIPROC_DIR": "/tmp/shared-by-mistake"}
    environments = [serve.start(server, exported) for server in serve.SERVERS]

    binds = [env["GUNICORN_METRICS_BIND"] for env in environments]
    assert binds == ["127.0.0.1:19100", "127.0.0.1:19101", "127.0.0.1:9102"]
    assert [env for env in environments if "PROMETHEUS_MULTIPROC_DIR" in env] == []


def own_gunicorn_environment(tmp_path, **variables: str) -> dict:
    database = f"sqlite:///{tmp_path}/rs.sqlite3"
    env = resource_server_environment("http://127.0.0.1:9", "credentials", seed_secrets(), database)
    return {**env, "PYTHONPATH": str(ROOT), "GUNICORN_BIND": f"127.0.0.1:{env['RS_PORT']}", **variables}


def test_an_unusable_multiprocess_directory_is_one_line(tmp_path):
    env = own_gunicorn_environment(tmp_path, PROMETHEUS_MULTIPROC_DIR="/proc/metrics")

    result = subprocess.run(
        OWN_GUNICORN, cwd=ROOT / "resource_server", env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode != 0
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith("resource_server: configuration error: PROMETHEUS_MULTIPROC_DIR: cannot create")


def test_a_previous_runs_values_in_a_directory_of_your_own_are_wiped_at_start(tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    previous_run = (
        "from prometheus_client import Counter;"
        f"Counter({RESPONSES.removesuffix('_total')!r}, '', ['status', 'view', 'method'])"
        ".labels('200', 'healthz', 'GET').inc(1000)"
    )
    subprocess.run(
        [sys.executable, "-c", previous_run], env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}, check=True
    )
    assert list(directory.glob("counter_*.db"))
    port = free_port()
    env = own_gunicorn_environment(
        tmp_path, PROMETHEUS_MULTIPROC_DIR=str(directory), GUNICORN_METRICS_BIND=f"127.0.0.1:{port}"
    )
    manage("resource_server", "migrate", "--no-input", env=env)

    process = subprocess.Popen(OWN_GUNICORN, cwd=ROOT / "resource_server", env=env, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{env['RS_PORT']}")
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        process.terminate()
        process.wait(timeout=20)

    assert 1 <= samples.value(RESPONSES, view="healthz", status="200") < 1000
    assert directory.is_dir()  # yours: emptied at start, never removed
