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
