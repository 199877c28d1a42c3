def test_client_credentials_token_is_accepted_by_the_resource_server(client):
    token = client.client_credentials_token(scope="read")

    response = client.api("/api/me/", token)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "username": None,
        "client_id": client.secrets["DEMO_CLIENT_ID"],
        "sub": client.secrets["DEMO_CLIENT_ID"],
        "scope": "read",
    }


def test_token_asked_for_without_scope_gets_read_and_never_introspection(client):
    response = client.client_credentials(scope=None)

    assert response.status_code == 200
    assert response.json()["scope"] == "read"


def test_client_that_is_no_resource_server_cannot_get_the_introspection_scope(client):
    response = client.client_credentials(scope="introspection")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_wrong_client_secret_gets_no_token(client):
    response = client.client_credentials(client=(client.secrets["DEMO_CLIENT_ID"], "wrong"))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
