import base64

import requests


def test_client_credentials_token_is_accepted_by_the_resource_server(client):
    token = client.client_credentials_token(scope="read")

    response = client.api("/api/me/", token)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body.pop("sub")  # opaque: see test_subjects.py
    assert body == {"username": None, "client_id": client.secrets["DEMO_CLIENT_ID"], "scope": "read"}


def test_a_clients_subject_is_its_own_and_the_same_in_every_token(client):
    first, second = client.client_credentials_token(), client.client_credentials_token()

    subjects = [client.api("/api/me/", token).json()["sub"] for token in (first, second)]

    assert subjects[0] == subjects[1]
    assert subjects[0] not in ("", client.secrets["DEMO_CLIENT_ID"])


def test_lowercase_basic_scheme_authenticates_the_client(client):
    # RFC 7235 §2.1 / RFC 9110 §11.1: the auth-scheme is case-insensitive.
    pair = f"{client.secrets['DEMO_CLIENT_ID']}:{client.secrets['DEMO_CLIENT_SECRET']}"
    credentials = base64.b64encode(pair.encode()).decode()

    response = requests.post(
        client.token_url,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"basic {credentials}"},
        timeout=10,
    )

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["token_type"] == "Bearer"


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
