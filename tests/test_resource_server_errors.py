import secrets


def test_request_without_token_gets_a_bearer_challenge_without_error_code(client):
    response = client.api("/api/me/")

    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api"')
    assert "resource_metadata=" in challenge
    assert "error=" not in challenge
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "request_id": response.headers["X-Request-ID"],
    }


def test_unknown_token_is_invalid_token(client):
    response = client.api("/api/me/", secrets.token_urlsafe(32))

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.json()["error"] == "invalid_token"
    assert "invalid" in response.json()["error_description"]


def test_token_without_the_scope_is_insufficient_scope(client):
    token = client.client_credentials_token(scope="read")

    response = client.api("/api/notes/", token, method="POST", json={"text": "needs write"})

    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="write"' in challenge
    assert response.json()["error"] == "insufficient_scope"
