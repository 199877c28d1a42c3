"""The example API's three ways of protecting an endpoint, and their identical answers."""

import secrets


def test_mixed_rule_accepts_either_alternative_and_names_the_first_when_refusing(client):
    writer = client.authorization_code_tokens(scope="read write")["access_token"]
    note = client.api("/api/notes/", writer, method="POST", json={"text": "mixed"}).json()
    notes_only = client.authorization_code_tokens(scope="notes")["access_token"]
    read_only = client.authorization_code_tokens(scope="read")["access_token"]
    path = f"/api/notes/{note['id']}/"

    assert client.api(path, writer).json()["text"] == "mixed"  # read AND write
    assert client.api(path, notes_only).json()["text"] == "mixed"  # OR notes
    refused = client.api(path, read_only)
    assert refused.status_code == 403
    assert 'scope="read write"' in refused.headers["WWW-Authenticate"]
    assert "(read and write) or (notes)" in refused.json()["error_description"]
    assert client.api(path, notes_only, method="DELETE").status_code == 204
    assert client.api(path, writer).status_code == 404


def test_function_view_with_the_decorator_answers_like_the_drf_views(client):
    reader = client.client_credentials_token(scope="read")
    writer = client.client_credentials_token(scope="write")

    counted = client.api("/api/notes/count/", reader)
    drf_refusal = client.api("/api/me/", writer)
    decorator_refusal = client.api("/api/notes/count/", writer)
    drf_anonymous = client.api("/api/me/")
    decorator_anonymous = client.api("/api/notes/count/")
    decorator_invalid = client.api("/api/notes/count/", secrets.token_urlsafe(16))

    assert counted.status_code == 200
    assert counted.json()["count"] >= 0
    assert decorator_refusal.status_code == drf_refusal.status_code == 403
    assert decorator_refusal.headers["WWW-Authenticate"].startswith('Bearer realm="api", error="insufficient_scope"')
    assert decorator_anonymous.status_code == drf_anonymous.status_code == 401
    assert decorator_anonymous.headers["WWW-Authenticate"] == drf_anonymous.headers["WWW-Authenticate"]
    # The same body but for each answer's own request id.
    assert {**decorator_anonymous.json(), "request_id": None} == {**drf_anonymous.json(), "request_id": None}
    assert decorator_anonymous.json()["request_id"] == decorator_anonymous.headers["X-Request-ID"]
    assert decorator_invalid.status_code == 401
    assert decorator_invalid.json()["error"] == "invalid_token"


def test_optional_endpoint_serves_anonymous_and_token_holders_but_not_bad_tokens(client):
    token = client.client_credentials_token(scope="read")

    anonymous = client.api("/api/hello/")
    personal = client.api("/api/hello/", token)
    invalid = client.api("/api/hello/", secrets.token_urlsafe(16))

    assert anonymous.status_code == 200
    assert anonymous.json() == {"message": "Hello, anonymous."}
    assert personal.status_code == 200
    assert personal.json()["message"] == f"Hello, {client.secrets['DEMO_CLIENT_ID']}."
    assert invalid.status_code == 401
    assert 'error="invalid_token"' in invalid.headers["WWW-Authenticate"]
