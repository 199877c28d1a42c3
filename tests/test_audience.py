"""RFC 8707 audience: the RS accepts only tokens issued for its own resource identifier.

Every API the suite starts has RESOURCE_SERVER_RESOURCE=http://127.0.0.1:<its port>/
(tests/stack.py), registered at the AS; a client reads it from the API's metadata
(RFC 9728) and asks the AS for a token bound to it with ``resource``. "Another API"
is the team API; tests/test_many_apis.py covers the two APIs side by side.
"""

import re

import requests

from .oauth import bearer

UNREGISTERED = "https://payments.example/"


def resource_of(api_url: str) -> str:
    response = requests.get(f"{api_url}/.well-known/oauth-protected-resource", timeout=15)
    assert response.status_code == 200
    return response.json()["resource"]


def assert_not_for_this_resource(response):
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert "not meant for this resource" in response.json()["error_description"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_client_credentials_token_for_this_resource_is_accepted(client, stack):
    response = client.client_credentials(scope="read", resource=resource_of(stack.resource_url))
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert client.introspect(token).json()["aud"] == [resource_of(stack.resource_url)]

    answer = client.api("/api/me/", token)

    assert answer.status_code == 200
    assert answer.json()["client_id"] == stack.secrets["DEMO_CLIENT_ID"]


def test_authorization_code_token_for_this_resource_is_accepted(client, stack):
    tokens = client.authorization_code_tokens(scope="read", resource=resource_of(stack.resource_url))

    answer = client.api("/api/me/", tokens["access_token"])

    assert client.introspect(tokens["access_token"]).json()["aud"] == [resource_of(stack.resource_url)]
    assert answer.status_code == 200
    assert answer.json()["username"] == stack.secrets["DEMO_USERNAME"]


def test_a_resource_that_names_no_registered_api_gets_no_token(client):
    """RFC 8707 §2: invalid_target, rather than a token that every API refuses."""
    response = client.client_credentials(scope="read", resource=UNREGISTERED)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"
    assert "access_token" not in response.json()


def test_the_comparison_is_exact(client, stack):
    """The AS matches the registered identifier exactly too: without its slash it names no API."""
    response = client.client_credentials(scope="read", resource=resource_of(stack.resource_url).rstrip("/"))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_a_refused_audience_is_refused_from_the_cache_too(client, stack, resource_server, relay, team_api):
    """An RS checks ``aud`` itself, on cached answers too, even where the AS shows it a token.

    The AS shows a token only to its audiences; an RS that introspects as the first
    API's client but names the team API's identifier is shown the first API's tokens,
    and must refuse them.
    """
    server = resource_server(
        RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RESOURCE_SERVER_RESOURCE=resource_of(team_api)
    )
    token = client.client_credentials_token(scope="read", resource=stack.resource)

    answers = [requests.get(f"{server.url}/api/me/", headers=bearer(token), timeout=15) for _ in range(3)]

    for answer in answers:
        assert_not_for_this_resource(answer)
    assert relay.calls == 1  # the second and third answers were the cached ones, checked again


def test_token_without_audience_is_accepted_unless_one_is_required(client, stack, resource_server):
    token = client.client_credentials_token(scope="read")
    assert "aud" not in client.introspect(token).json()
    strict = resource_server(RESOURCE_SERVER_REQUIRE_AUDIENCE="true")
    bound = client.client_credentials_token(scope="read", resource=stack.resource)

    lenient_answer = client.api("/api/me/", token)
    strict_answer = requests.get(f"{strict.url}/api/me/", headers=bearer(token), timeout=15)
    bound_answer = requests.get(f"{strict.url}/api/me/", headers=bearer(bound), timeout=15)

    assert lenient_answer.status_code == 200
    assert strict_answer.status_code == 401
    assert strict_answer.json()["error"] == "invalid_token"
    assert "names no audience" in strict_answer.json()["error_description"]
    assert bound_answer.status_code == 200
    assert bound_answer.json()["client_id"] == stack.secrets["DEMO_CLIENT_ID"]


def test_metadata_and_challenge_name_the_configured_resource_whatever_the_host(resource_server):
    server = resource_server(RESOURCE_SERVER_RESOURCE="https://api.example/notes")
    metadata_url = "https://api.example/.well-known/oauth-protected-resource/notes"  # RFC 9728 §3.1

    for host in ("127.0.0.1", "localhost"):
        challenge = requests.get(f"{server.url}/api/me/", headers={"Host": host}, timeout=15)
        metadata = requests.get(
            f"{server.url}/.well-known/oauth-protected-resource/notes", headers={"Host": host}, timeout=15
        )

        assert challenge.status_code == 401
        assert re.search(r'resource_metadata="([^"]+)"', challenge.headers["WWW-Authenticate"]).group(1) == metadata_url
        assert metadata.status_code == 200
        assert metadata.json()["resource"] == "https://api.example/notes"
