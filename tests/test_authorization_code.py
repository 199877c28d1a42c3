from urllib.parse import parse_qs, urlsplit


def test_authorization_code_with_pkce_through_login_and_consent(client):
    tokens = client.authorization_code_tokens(scope="read write")

    assert tokens["token_type"] == "Bearer"
    assert set(tokens["scope"].split()) == {"read", "write"}
    response = client.api("/api/me/", tokens["access_token"])
    assert response.status_code == 200
    assert response.json()["username"] == client.secrets["DEMO_USERNAME"]
    assert response.json()["client_id"] == client.secrets["DEMO_PUBLIC_CLIENT_ID"]
    assert response.json()["scope"] == "read write"


def test_authorization_response_names_the_issuer(client):
    redirect = client.authorize()

    assert redirect.status_code == 302
    params = parse_qs(urlsplit(redirect.headers["Location"]).query)
    # RFC 9207: the mix-up defence of RFC 9700 §4.4.
    assert params["iss"] == [client.stack.auth_url]


def test_plain_pkce_is_refused(client):
    redirect = client.authorize(challenge_method="plain")

    assert redirect.status_code == 302
    params = parse_qs(urlsplit(redirect.headers["Location"]).query)
    assert "code" not in params
    assert params["error"] == ["invalid_request"]
