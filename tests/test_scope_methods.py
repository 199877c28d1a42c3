"""Per-method scope rules fail closed: HEAD follows GET, a method no rule names is refused."""

import secrets


def assert_refused_for_every_scope(response):
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert response.json()["error_description"] == "No scope grants this HTTP method on this resource."
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api", error="insufficient_scope"')
    assert "scope=" not in challenge  # no scope would grant it


def test_head_needs_what_get_needs(client):
    writer = client.client_credentials_token(scope="write")
    reader = client.client_credentials_token(scope="read")

    refused = client.api("/api/notes/", writer, method="HEAD")
    allowed = client.api("/api/notes/", reader, method="HEAD")

    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert 'scope="read"' in refused.headers["WWW-Authenticate"]
    assert refused.content == b""  # HEAD: headers only
    assert allowed.status_code == 200
    assert allowed.headers["Content-Type"] == "application/json"
    assert allowed.content == b""


def test_methods_the_rule_does_not_name_are_refused_whatever_the_scopes(client):
    token = client.client_credentials_token(scope="read write notes")

    for method in ("PATCH", "PUT", "DELETE", "OPTIONS"):
        assert_refused_for_every_scope(client.api("/api/notes/", token, method=method, json={"text": "x"}))


def test_an_unnamed_method_without_a_token_is_still_401(client):
    response = client.api("/api/notes/", method="PATCH", json={"text": "x"})

    assert response.status_code == 401
    assert "error=" not in response.headers["WWW-Authenticate"]
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "request_id": response.headers["X-Request-ID"],
    }


def test_the_decorator_fails_closed_too(client):
    reader = client.client_credentials_token(scope="read")
    writer = client.client_credentials_token(scope="write")

    head = client.api("/api/notes/count/", reader, method="HEAD")
    head_refused = client.api("/api/notes/count/", writer, method="HEAD")
    post = client.api("/api/notes/count/", reader, method="POST")
    anonymous_post = client.api("/api/notes/count/", method="POST")
    invalid_post = client.api("/api/notes/count/", secrets.token_urlsafe(16), method="POST")

    assert head.status_code == 200
    assert head.content == b""
    assert head_refused.status_code == 403
    assert 'scope="read"' in head_refused.headers["WWW-Authenticate"]
    assert_refused_for_every_scope(post)
    assert anonymous_post.status_code == 401
    assert invalid_post.status_code == 401
    assert invalid_post.json()["error"] == "invalid_token"
