"""Browser apps on the origins of RS_CORS_ALLOWED_ORIGINS call the API; the fail-closed rules still hold.

A preflight (an OPTIONS with Access-Control-Request-Method) is answered without a
token: browsers send none with it (Fetch standard, CORS-preflight fetch). The
request that follows still needs its token and its scopes.
"""

import pytest
import requests

from .oauth import bearer
from .test_configuration import start_resource_server

# CORS is answered by the API before and apart from introspection: its caller mode changes nothing.
# Once, on the first stack (the one_stack marker).
pytestmark = pytest.mark.one_stack

APP = "https://app.example"


@pytest.fixture
def server(resource_server):
    return resource_server(RS_CORS_ALLOWED_ORIGINS=f"{APP},https://other-app.example")


def preflight(server, origin: str, method: str, path: str = "/api/notes/") -> requests.Response:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    return requests.options(f"{server.url}{path}", headers=headers, timeout=15)


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_token(server):
    response = preflight(server, APP, "DELETE")

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert {"authorization", "content-type"} <= set(response.headers["Access-Control-Allow-Headers"].split(", "))
    assert "DELETE" in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers  # bearer tokens, no cookies
    assert "WWW-Authenticate" not in response.headers
    assert response.content == b""


def test_a_preflight_from_another_origin_gets_no_permission(server):
    response = preflight(server, "https://evil.example", "GET", "/api/me/")

    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Headers" not in response.headers


def test_a_request_with_its_token_from_an_allowed_origin_can_be_read_by_the_app(client, server):
    token = client.client_credentials_token(scope="read")

    response = requests.get(f"{server.url}/api/me/", headers={"Origin": APP, **bearer(token)}, timeout=15)

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert response.json()["client_id"] == client.secrets["DEMO_CLIENT_ID"]


def test_without_a_token_the_app_reads_the_401_challenge(server):
    response = requests.get(f"{server.url}/api/me/", headers={"Origin": APP}, timeout=15)

    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="api"')
    exposed = {name.strip().lower() for name in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"www-authenticate", "retry-after", "x-request-id"} <= exposed


def test_the_method_rules_still_fail_closed_after_a_preflight(client, server):
    token = client.client_credentials_token(scope="read write notes")
    assert preflight(server, APP, "DELETE").status_code == 200

    deleted = requests.delete(f"{server.url}/api/notes/", headers={"Origin": APP, **bearer(token)}, timeout=15)
    # An OPTIONS that is no preflight (no Access-Control-Request-Method) is a request like any other.
    options = requests.options(f"{server.url}/api/notes/", headers={"Origin": APP}, timeout=15)

    assert deleted.status_code == 403
    assert deleted.json()["error_description"] == "No scope grants this HTTP method on this resource."
    assert deleted.headers["Access-Control-Allow-Origin"] == APP
    assert options.status_code == 401
    assert options.headers["Access-Control-Allow-Origin"] == APP


def test_without_allowed_origins_no_origin_is_allowed(client, stack):
    response = requests.options(
        f"{stack.resource_url}/api/me/",
        headers={"Origin": APP, "Access-Control-Request-Method": "GET"},
        timeout=15,
    )

    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("value", ["app.example", "https://app.example/", "https://app.example/path"])
def test_an_origin_that_could_never_match_stops_the_server_with_one_line(value):
    result = start_resource_server(
        RESOURCE_SERVER_AUTH_TOKEN="t", RS_CORS_ALLOWED_ORIGINS=f"https://ok.example,{value}"
    )

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "RS_CORS_ALLOWED_ORIGINS" in line]
    assert len(lines) == 1, result.stderr
    assert "configuration error" in lines[0]
    assert "Traceback" not in result.stderr
