"""The resource server when the authorization server cannot say whether a token is valid."""

import time

import pytest
import requests

from .fake_authorization_server import FakeAuthorizationServer
from .oauth import bearer
from .stack import free_port

# An AS that cannot answer fails the API the same way whatever credentials the API sent it (its caller mode).
# Once, on the first stack (the one_stack marker).
pytestmark = pytest.mark.one_stack


def assert_unavailable(response):
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"] == "temporarily_unavailable"


@pytest.mark.parametrize("behaviour", ["hang", "error", "garbage", "no_active"])
def test_misbehaving_as_is_503_with_retry_after(client, resource_server, behaviour):
    token = client.client_credentials_token()
    with FakeAuthorizationServer(behaviour) as fake:
        server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=fake.url, RESOURCE_SERVER_INTROSPECTION_TIMEOUT="1")
        started = time.monotonic()

        response = requests.get(f"{server.url}/api/me/", headers=bearer(token), timeout=15)

        assert_unavailable(response)
        assert time.monotonic() - started < 4  # bounded by the 1 s timeout, not the AS
        assert fake.calls >= 1


def test_unreachable_as_is_503(client, resource_server):
    token = client.client_credentials_token()
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=f"http://127.0.0.1:{free_port()}/o/introspect/")

    assert_unavailable(requests.get(f"{server.url}/api/me/", headers=bearer(token), timeout=15))


def test_active_answer_whose_exp_has_passed_is_invalid_token(client, resource_server):
    with FakeAuthorizationServer("expired") as fake:
        server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=fake.url)

        response = requests.get(f"{server.url}/api/me/", headers=bearer("any-token"), timeout=15)

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_as_outage_keeps_cached_tokens_working_and_recovers_without_restart(client, stack, resource_server):
    server = resource_server()
    cached = client.client_credentials_token()
    fresh = client.client_credentials_token()
    me = f"{server.url}/api/me/"
    assert requests.get(me, headers=bearer(cached), timeout=15).status_code == 200

    stack.stop_auth_server()
    try:
        assert requests.get(me, headers=bearer(cached), timeout=15).status_code == 200
        assert_unavailable(requests.get(me, headers=bearer(fresh), timeout=15))
    finally:
        stack.start_auth_server()

    response = requests.get(me, headers=bearer(fresh), timeout=15)
    assert response.status_code == 200
    assert response.json()["client_id"] == stack.secrets["DEMO_CLIENT_ID"]
