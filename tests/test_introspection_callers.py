import requests

from .oauth import bearer


def test_resource_server_client_may_introspect(client):
    token = client.client_credentials_token(scope="read")

    response = client.introspect(token)

    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True
    assert body["scope"] == "read"
    assert body["client_id"] == client.secrets["DEMO_CLIENT_ID"]
    assert body["token_type"] == "Bearer"
    assert body["iss"] == client.stack.auth_url
    assert body["iat"] <= body["exp"]


def test_bearer_token_with_introspection_scope_may_introspect(client):
    token = client.client_credentials_token(scope="read")

    response = client.introspect(token, headers=bearer(client.secrets["OAUTH_RS_INTROSPECTION_TOKEN"]))

    assert response.status_code == 200
    assert response.json()["active"] is True


def test_other_confidential_client_may_not_introspect(client):
    token = client.client_credentials_token(scope="read")

    response = client.introspect(token, auth=(client.secrets["DEMO_CLIENT_ID"], client.secrets["DEMO_CLIENT_SECRET"]))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert "active" not in response.json()


def test_bearer_token_without_introspection_scope_may_not_introspect(client):
    token = client.client_credentials_token(scope="read")

    response = client.introspect(token, headers=bearer(token))

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert "active" not in response.json()


def test_anonymous_caller_may_not_introspect(client):
    response = requests.post(f"{client.stack.auth_url}/o/introspect/", data={"token": "x"}, timeout=10)

    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


def test_introspection_is_post_only(client):
    token = client.client_credentials_token()

    response = requests.get(
        f"{client.stack.auth_url}/o/introspect/",
        params={"token": token},
        auth=(client.secrets["OAUTH_RS_CLIENT_ID"], client.secrets["OAUTH_RS_CLIENT_SECRET"]),
        timeout=10,
    )

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_missing_token_parameter_is_invalid_request(client):
    response = requests.post(
        f"{client.stack.auth_url}/o/introspect/",
        data={},
        auth=(client.secrets["OAUTH_RS_CLIENT_ID"], client.secrets["OAUTH_RS_CLIENT_SECRET"]),
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_refresh_token_is_found_with_its_hint_and_with_a_wrong_one(client):
    tokens = client.authorization_code_tokens(scope="read")

    for hint in ("refresh_token", "access_token"):
        body = client.introspect(tokens["refresh_token"], token_type_hint=hint).json()
        assert body["active"] is True, hint
        assert body["token_type"] == "refresh_token"
        assert body["username"] == client.secrets["DEMO_USERNAME"]


def test_refresh_token_is_not_accepted_as_an_access_token_by_the_resource_server(client):
    tokens = client.authorization_code_tokens(scope="read")

    response = client.api("/api/me/", tokens["refresh_token"])

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
