import re

import requests


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
