"""Three replicas of the first API behind the proxy, on one published port (make test-compose only).

The module scales resource-server to three (``docker compose up --scale resource-server=3``)
with a short caching window, and leaves the stack as it found it: the AS running,
one replica with the stack's own settings. The AS counts introspections in its
access log, each replica the requests it served in its own.
"""

import threading
import time

import pytest
import requests

from ..log_records import access, eventually
from ..stack import compose
from .containers import docker

REPLICAS = 3
# Long enough for a burst of requests and an AS outage to fit in one window.
WINDOW = 10


def scale(replicas: int) -> None:
    compose(
        "up",
        "-d",
        "--no-build",
        "--no-deps",
        "--wait",
        "--wait-timeout",
        "120",
        "--scale",
        f"resource-server={replicas}",
        "resource-server",
    )


@pytest.fixture(scope="module", autouse=True)
def replicas(stack):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESOURCE_SERVER_TOKEN_CACHING_SECONDS", str(WINDOW))
        scale(REPLICAS)
    yield
    stack.start_auth_server()
    scale(1)


def containers() -> list[str]:
    """The ids of the running resource-server replicas."""
    return compose("ps", "--quiet", "--status", "running", "resource-server").stdout.split()


def log_of(container: str) -> str:
    logs = docker("logs", container)
    return logs.stdout + logs.stderr


def served(ids: list[str]) -> dict[str, int]:
    """``GET /api/me/`` answered 200, by replica, as their access logs say so far."""
    return {container: len(access(log_of(container), "GET", "/api/me/", status=200)) for container in ids}


def logged(read, enough):
    """``read()`` once it is ``enough``, or after 10 s: Docker collects a log line some time after it is written."""
    deadline = time.monotonic() + 10
    while not enough(value := read()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return value


def introspections(at_least: int = 0) -> int:
    """The AS's introspection requests so far (once there are ``at_least``)."""

    def count() -> int:
        return len(access(compose("logs", "--no-color", "auth-server").stdout, "POST", "/o/introspect/"))

    return logged(count, lambda value: value >= at_least)


def served_since(before: dict[str, int], total: int) -> dict[str, int]:
    """Each replica's share of ``total`` requests made since ``before``."""

    def since() -> dict[str, int]:
        return {container: count - before[container] for container, count in served(list(before)).items()}

    return logged(since, lambda shares: sum(shares.values()) >= total)


def burst(client, token: str, count: int = 10 * REPLICAS) -> list[int]:
    return [client.api("/api/me/", token).status_code for _ in range(count)]


def test_one_token_across_the_replicas_costs_one_introspection_per_caching_window(client):
    ids = containers()
    assert len(ids) == REPLICAS
    token = client.client_credentials_token(scope="read")
    counted, before = introspections(), served(ids)

    window_opened = time.monotonic()
    assert burst(client, token) == [200] * 10 * REPLICAS
    shares = served_since(before, 10 * REPLICAS)
    assert sum(shares.values()) == 10 * REPLICAS and all(shares.values()), shares
    assert introspections(at_least=counted + 1) == counted + 1

    # The next window: one more introspection, whichever replica asks.
    time.sleep(max(0, window_opened + WINDOW + 1 - time.monotonic()))
    assert burst(client, token) == [200] * 10 * REPLICAS
    assert introspections(at_least=counted + 2) == counted + 2


def proxy_log() -> str:
    return compose("logs", "--no-color", "proxy").stdout


def test_with_the_as_down_cached_tokens_work_on_every_replica_and_fresh_ones_get_503(client, stack):
    ids = containers()
    cached = client.client_credentials_token(scope="read")
    fresh = client.client_credentials_token(scope="read")
    assert client.api("/api/me/", cached).status_code == 200
    before = served(ids)

    compose("kill", "auth-server")
    assert burst(client, cached, 2 * REPLICAS) == [200] * 2 * REPLICAS
    shares = served_since(before, 2 * REPLICAS)
    assert all(shares.values()), shares
    for _ in range(REPLICAS):
        unavailable = client.api("/api/me/", fresh)
        assert unavailable.status_code == 503
        assert int(unavailable.headers["Retry-After"]) > 0
        assert unavailable.json()["error"] == "temporarily_unavailable"
    # The proxy logs the request it found no AS for, by its URI: never its query string (compose/proxy/logs.caddy).
    assert requests.get(f"{stack.auth_url}/o/authorize/?access_token={cached}", timeout=30).status_code in (502, 503)
    assert eventually(lambda: [line for line in proxy_log().splitlines() if '"uri":"/o/authorize/"' in line])
    leaked = cached in proxy_log()  # a failure must not print the token
    assert not leaked, "the access token is in the proxy's log"

    stack.start_auth_server()
    assert client.api("/api/me/", fresh).status_code == 200


def test_with_a_replica_killed_the_others_answer_every_request(client):
    ids = containers()
    token = client.client_credentials_token(scope="read")
    statuses = []
    stop = threading.Event()

    def call():
        while not stop.is_set():
            statuses.append(client.api("/api/me/", token).status_code)

    caller = threading.Thread(target=call)
    caller.start()
    try:
        time.sleep(0.5)
        killed, *survivors = ids
        docker("kill", killed)
        before = served(survivors)
        # Past the proxy's next look-up of the name (every 2 s), which no longer lists it.
        time.sleep(4)
    finally:
        stop.set()
        caller.join()

    assert sorted(containers()) == sorted(survivors)
    assert len(statuses) > 20 and set(statuses) == {200}, statuses
    after = served(survivors)
    assert all(after[container] > before[container] for container in survivors), (before, after)
