import json
import re
import secrets
import time

import requests

from .fake_authorization_server import FakeAuthorizationServer
from .oauth import bearer


def test_authorization_server_metadata_names_introspection_and_revocation(client, stack):
    response = requests.get(f"{stack.auth_url}/.well-known/oauth-authorization-server", timeout=10)

    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == stack.auth_url
    assert metadata["introspection_endpoint"] == f"{stack.auth_url}/o/introspect/"
    assert metadata["revocation_endpoint"] == f"{stack.auth_url}/o/revoke_token/"
    assert "client_secret_basic" in metadata["introspection_endpoint_auth_methods_supported"]
    assert "client_secret_basic" in metadata["revocation_endpoint_auth_methods_supported"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "introspection" not in metadata["scopes_supported"]


def test_protected_resource_metadata_is_linked_from_the_challenge(client, stack):
    challenge = client.api("/api/me/").headers["WWW-Authenticate"]
    url = re.search(r'resource_metadata="([^"]+)"', challenge).group(1)

    response = requests.get(url, timeout=10)

    assert url == f"{stack.resource_url}/.well-known/oauth-protected-resource"
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["resource"] == f"{stack.resource_url}/"
    assert metadata["authorization_servers"] == [stack.auth_url]
    assert metadata["bearer_methods_supported"] == ["header"]
    assert {"read", "write"} <= set(metadata["scopes_supported"])


def test_an_api_with_a_scope_prefix_advertises_its_scopes_and_needs_them_qualified(resource_server):
    with FakeAuthorizationServer("answer") as fake:
        server = resource_server(
            RESOURCE_SERVER_INTROSPECTION_URL=fake.url,
            RESOURCE_SERVER_SCOPE_PREFIX="team:",
            RESOURCE_SERVER_SCOPES="team:read team:write team:notes",
        )
        metadata = requests.get(f"{server.url}/.well-known/oauth-protected-resource", timeout=10).json()

        def me_with(scope: str) -> requests.Response:
            claims = {"active": True, "scope": scope, "client_id": "app", "sub": "1", "exp": int(time.time()) + 600}
            fake.body = json.dumps(claims).encode()
            # A token of its own per answer: the first one's answer is cached.
            return requests.get(f"{server.url}/api/me/", headers=bearer(secrets.token_urlsafe(16)), timeout=10)

        plain = me_with("read write notes")
        qualified = me_with("team:read")

    assert metadata["scopes_supported"] == ["team:read", "team:write", "team:notes"]
    assert plain.status_code == 403
    assert plain.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in plain.headers["WWW-Authenticate"]
    assert 'scope="team:read"' in plain.headers["WWW-Authenticate"]
    assert qualified.status_code == 200
    assert qualified.json()["scope"] == "team:read"
