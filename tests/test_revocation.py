import base64

import requests


def test_revoked_access_token_is_inactive_at_introspection(client):
    tokens = client.authorization_code_tokens()
    assert client.introspect(tokens["access_token"]).json()["active"] is True

    revoked = client.revoke(tokens["access_token"])

    assert revoked.status_code == 200
    response = client.introspect(tokens["access_token"])
    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_revoked_refresh_token_is_inactive_and_cannot_refresh(client):
    tokens = client.authorization_code_tokens()

    assert client.revoke(tokens["refresh_token"], hint="refresh_token").status_code == 200

    assert client.introspect(tokens["refresh_token"], token_type_hint="refresh_token").json() == {"active": False}
    assert client.refresh(tokens["refresh_token"]).status_code == 400


def test_lowercase_basic_scheme_authenticates_a_confidential_client_at_revocation(client, stack):
    # RFC 7235 §2.1 / RFC 9110 §11.1: the auth-scheme is case-insensitive.
    token = client.client_credentials_token()
    pair = f"{stack.secrets['DEMO_CLIENT_ID']}:{stack.secrets['DEMO_CLIENT_SECRET']}"

    revoked = requests.post(
        f"{stack.auth_url}/o/revoke_token/",
        data={"token": token},
        headers={"Authorization": "basic " + base64.b64encode(pair.encode()).decode()},
        timeout=10,
    )

    assert revoked.status_code == 200, revoked.text
    assert revoked.content == b""
    assert client.introspect(token).json() == {"active": False}
