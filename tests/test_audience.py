"""RFC 8707 audience: the RS accepts only tokens issued for its own resource identifier.

Every RS the suite starts has RESOURCE_SERVER_RESOURCE=http://127.0.0.1:<its port>/
(tests/stack.py); a client reads it from the RS's metadata (RFC 9728) and asks the
AS for a token bound to it with ``resource``.
"""

import re

import requests

from .oauth import bearer

PAYMENTS = "https://payments.example/"


def resource_of(stack) -> str:
    response = requests.get(f"{stack.resource_url}/.well-known/oauth-protected-resource", timeout=15)
    assert response.status_code == 200
    return response.json()["resource"]


def assert_not_for_this_resource(response):
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert "not meant for this resource" in response.json()["error_description"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_client_credentials_token_for_this_resource_is_accepted(client, stack):
    response = client.client_credentials(scope="read", resource=resource_of(stack))
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert client.introspect(token).json()["aud"] == [resource_of(stack)]

    answer = client.api("/api/me/", token)

    assert answer.status_code == 200
    assert answer.json()["client_id"] == stack.secrets["DEMO_CLIENT_ID"]


def test_authorization_code_token_for_this_resource_is_accepted(client, stack):
    tokens = client.authorization_code_tokens(scope="read", resource=resource_of(stack))

    answer = client.api("/api/me/", tokens["access_token"])

    assert client.introspect(tokens["access_token"]).json()["aud"] == [resource_of(stack)]
    assert answer.status_code == 200
    assert answer.json()["username"] == stack.secrets["DEMO_USERNAME"]


def test_token_for_another_api_is_refused(client, stack):
    cc_token = client.client_credentials_token(scope="read", resource=PAYMENTS)
    code_token = client.authorization_code_tokens(scope="read", resource=PAYMENTS)["access_token"]

    assert_not_for_this_resource(client.api("/api/me/", cc_token))
    assert_not_for_this_resource(client.api("/api/me/", code_token))


def test_the_comparison_is_exact(client, stack):
    without_slash = client.client_credentials_token(scope="read", resource=resource_of(stack).rstrip("/"))

    assert_not_for_this_resource(client.api("/api/me/", without_slash))


def test_token_for_both_apis_is_accepted(client, stack):
    token = client.client_credentials_token(scope="read", resource=[PAYMENTS, resource_of(stack)])

    answer = client.api("/api/me/", token)

    assert answer.status_code == 200
    assert answer.json()["client_id"] == stack.secrets["DEMO_CLIENT_ID"]


def test_a_refused_audience_is_refused_from_the_cache_too(client, resource_server, relay):
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url)
    token = client.client_credentials_token(scope="read", resource=PAYMENTS)

    answers = [requests.get(f"{server.url}/api/me/", headers=bearer(token), timeout=15) for _ in range(3)]

    for answer in answers:
        assert_not_for_this_resource(answer)
    assert relay.calls == 1  # the second and third answers were the cached ones, checked again


def test_token_without_audience_is_accepted_unless_one_is_required(client, stack, resource_server):
    token = client.client_credentials_token(scope="read")
    assert "aud" not in client.introspect(token).json()
    strict = resource_server(RESOURCE_SERVER_REQUIRE_AUDIENCE="true")
    bound = client.client_credentials_token(scope="read", resource=f"{strict.url}/")

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
