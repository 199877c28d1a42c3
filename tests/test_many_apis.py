"""Two APIs behind one login: each accepts only the tokens asked for it (RFC 8707), with its own scopes and data.

The first API and the team API are the same resource_server project run with two
identities (tests/stack.py): two clients, two resource identifiers, two sets of
scopes (``team:`` qualifies the team API's), two databases, two token caches. A
client learns each API's resource identifier from its RFC 9728 metadata.
"""

import re
import secrets

import pytest
import requests

FIRST_SCOPES = ["read", "write", "notes"]
TEAM_SCOPES = ["team:read", "team:write", "team:notes"]


def metadata(api_url: str) -> dict:
    response = requests.get(f"{api_url}/.well-known/oauth-protected-resource", timeout=15)
    assert response.status_code == 200
    return response.json()


def resource_of(api_url: str) -> str:
    return metadata(api_url)["resource"]


def assert_refused_as_invalid(response):
    """The AS shows a token only to its audiences (inactive to the others), and the RS checks ``aud`` too."""
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def assert_insufficient_scope(response):
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


@pytest.fixture
def apis(stack, team_api) -> dict:
    """Each API's URL and resource identifier, by name."""
    return {
        "first": (stack.resource_url, resource_of(stack.resource_url)),
        "team": (team_api, resource_of(team_api)),
    }


def introspected_by(client, api: str, token: str) -> dict:
    """The AS's answer to the API's own client."""
    prefix = {"first": "OAUTH_RS_", "team": "OAUTH_RS_TEAM_"}[api]
    auth = (client.secrets[f"{prefix}CLIENT_ID"], client.secrets[f"{prefix}CLIENT_SECRET"])
    response = client.introspect(token, auth=auth)
    assert response.status_code == 200
    return response.json()


def test_each_api_describes_itself_with_its_own_resource_and_scopes(apis):
    first, team = metadata(apis["first"][0]), metadata(apis["team"][0])

    assert first["resource"] != team["resource"]
    assert team["resource"] == f"{apis['team'][0]}/"
    assert first["scopes_supported"] == FIRST_SCOPES
    assert team["scopes_supported"] == TEAM_SCOPES
    assert first["authorization_servers"] == team["authorization_servers"]
    for url, resource in apis.values():
        challenge = requests.get(f"{url}/api/me/", timeout=15)
        assert challenge.status_code == 401
        named = re.search(r'resource_metadata="([^"]+)"', challenge.headers["WWW-Authenticate"]).group(1)
        assert named == f"{resource}.well-known/oauth-protected-resource"


@pytest.mark.parametrize("flow", ["client_credentials", "authorization_code"])
@pytest.mark.parametrize(("asked", "other"), [("first", "team"), ("team", "first")])
def test_a_token_asked_for_one_api_is_refused_by_the_other(client, apis, flow, asked, other):
    scope = {"first": "read", "team": "team:read"}[asked]
    resource = apis[asked][1]
    if flow == "client_credentials":
        token = client.client_credentials_token(scope=scope, resource=resource)
    else:
        token = client.authorization_code_tokens(scope=scope, resource=resource)["access_token"]

    accepted = client.api("/api/me/", token, at=apis[asked][0])
    refused = client.api("/api/me/", token, at=apis[other][0])

    assert introspected_by(client, asked, token)["aud"] == [resource]
    assert introspected_by(client, other, token) == {"active": False}
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["scope"] == scope
    assert_refused_as_invalid(refused)


def test_a_token_asked_for_both_apis_works_at_both(client, stack, apis):
    response = client.client_credentials(scope="read team:read", resource=[apis["first"][1], apis["team"][1]])
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]

    for name, (url, _) in apis.items():
        answer = client.api("/api/me/", token, at=url)

        assert sorted(introspected_by(client, name, token)["aud"]) == sorted([apis["first"][1], apis["team"][1]])
        assert answer.status_code == 200, answer.text
        assert answer.json()["client_id"] == stack.secrets["DEMO_CLIENT_ID"]


def test_team_scopes_open_the_team_api_and_not_the_first(client, apis):
    """The team API's rules name "read" and "write"; with its prefix they mean team:read and team:write."""
    team_read = client.client_credentials_token(scope="team:read")
    first_read = client.client_credentials_token(scope="read")

    assert client.api("/api/me/", team_read, at=apis["team"][0]).status_code == 200
    assert_insufficient_scope(client.api("/api/me/", team_read, at=apis["first"][0]))
    assert_insufficient_scope(client.api("/api/me/", first_read, at=apis["team"][0]))
    assert_insufficient_scope(
        client.api("/api/notes/", team_read, method="POST", at=apis["team"][0], json={"text": "no team:write"})
    )


def test_the_team_api_keeps_its_own_notes(client, apis):
    response = client.client_credentials(
        scope="read write team:read team:write", resource=[apis["first"][1], apis["team"][1]]
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    texts = {name: f"a note for the {name} API {secrets.token_hex(4)}" for name in apis}

    for name, (url, _) in apis.items():
        created = client.api("/api/notes/", token, method="POST", at=url, json={"text": texts[name]})
        assert created.status_code == 201, created.text

    for name, (url, _) in apis.items():
        listed = client.api("/api/notes/", token, at=url)
        assert listed.status_code == 200
        held = {note["text"] for note in listed.json()}
        assert texts[name] in held
        assert not held & {text for other, text in texts.items() if other != name}
