import pytest
import requests

from .fake_authorization_server import FakeAuthorizationServer

# Malformed requests are refused before any introspection: the API's caller mode changes nothing.
# Once, on the first stack (the one_stack marker).
pytestmark = pytest.mark.one_stack


@pytest.fixture
def counted(stack, resource_server):
    """A resource server whose every introspection call is counted."""
    with FakeAuthorizationServer("relay", upstream=f"{stack.auth_url}/o/introspect/") as fake:
        yield fake, resource_server(RESOURCE_SERVER_INTROSPECTION_URL=fake.url)


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Bearer two tokens", "Bearer a,b", "Bearer tok\u00e9n", "Bearer a=b"],
    ids=["scheme-alone", "empty", "two-tokens", "comma", "non-b64token", "padding-inside"],
)
def test_malformed_authorization_header_is_invalid_request_without_calling_the_as(counted, header):
    fake, server = counted

    response = requests.get(f"{server.url}/api/me/", headers={"Authorization": header.encode("latin-1")}, timeout=10)

    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]
    assert response.json()["error"] == "invalid_request"
    assert fake.calls == 0


def test_token_in_the_query_string_is_refused_without_calling_the_as(counted, client):
    fake, server = counted
    token = client.client_credentials_token()

    response = requests.get(f"{server.url}/api/me/", params={"access_token": token}, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "query string" in response.json()["error_description"]
    assert fake.calls == 0


def test_tokens_appear_in_no_log(client, stack):
    token = client.client_credentials_token()
    assert client.api("/api/me/", token).status_code == 200
    assert client.api(f"/api/me/?access_token={token}").status_code == 400
    assert client.introspect(token).status_code == 200

    logs = stack.logs()

    assert "/api/me/" in logs  # the access log is on
    assert token not in logs
    assert stack.secrets["OAUTH_RS_CLIENT_SECRET"] not in logs
