"""The revocation window: RESOURCE_SERVER_TOKEN_CACHING_SECONDS and the shared cache."""

import secrets
import subprocess
import time

import pytest
import requests

from .fake_authorization_server import FakeAuthorizationServer
from .oauth import bearer
from .stack import free_port


@pytest.fixture
def relay(stack):
    with FakeAuthorizationServer("relay", upstream=f"{stack.auth_url}/o/introspect/") as fake:
        yield fake


def me(server, token):
    return requests.get(f"{server.url}/api/me/", headers=bearer(token), timeout=15)


def test_revoked_token_is_refused_after_cache_ttl(client, resource_server, relay):
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RESOURCE_SERVER_TOKEN_CACHING_SECONDS="2")
    tokens = client.authorization_code_tokens(scope="read")
    token = tokens["access_token"]
    assert me(server, token).status_code == 200
    assert me(server, token).status_code == 200
    assert relay.calls == 1  # the second answer came from the cache

    assert client.revoke(token).status_code == 200
    assert me(server, token).status_code == 200  # still inside the revocation window
    time.sleep(2.5)

    response = me(server, token)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_zero_caching_introspects_every_request_and_tokens_still_work(client, resource_server, relay):
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RESOURCE_SERVER_TOKEN_CACHING_SECONDS="0")
    token = client.authorization_code_tokens(scope="read")["access_token"]

    assert [me(server, token).status_code for _ in range(3)] == [200, 200, 200]
    assert relay.calls == 3

    client.revoke(token)
    assert me(server, token).status_code == 401


def test_inactive_answers_are_introspected_again_unless_negative_caching_is_on(client, resource_server, relay):
    plain = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url)
    negative = resource_server(
        RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS="30"
    )
    unknown = secrets.token_urlsafe(32)

    assert [me(plain, unknown).status_code for _ in range(2)] == [401, 401]
    assert relay.calls == 2
    assert [me(negative, unknown).status_code for _ in range(2)] == [401, 401]
    assert relay.calls == 3


@pytest.fixture
def redis_server(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.1)
    yield process, f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


def test_redis_cache_is_used_and_its_outage_is_no_authentication_failure(client, resource_server, relay, redis_server):
    process, url = redis_server
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RS_CACHE_URL=url)
    token = client.client_credentials_token()
    assert [me(server, token).status_code for _ in range(2)] == [200, 200]
    assert relay.calls == 1

    process.terminate()
    process.wait(timeout=10)

    assert [me(server, token).status_code for _ in range(4)] == [200] * 4
    assert relay.calls == 5  # every request introspected while the cache is down
    outage_lines = [line for line in server.log.read_text().splitlines() if "token cache unavailable" in line]
    assert len(outage_lines) == 1, outage_lines  # logged once per interval, not per request
