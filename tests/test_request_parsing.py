"""Every endpoint of the authorization server answers odd requests with a 4xx, never a 500.

The requests go out byte for byte (tests/raw_http.py): ``requests`` would
re-encode the query strings and refuse the odd header bytes.
"""

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from .oauth import form
from .raw_http import send

# Query strings Django parses and oauthlib refused with a ValueError.
ODD_QUERIES = ["x=[1]", "a=%ZZ", "x=%", "x={}|^`", "x=%C3%28", "=&&=="]
ODD_HEADERS = [
    b"Accept-Language: \xff\xfe",
    b"X-Forwarded-For: \xff, not-an-address",
    b"Origin: \xff",
    b"Cookie: sessionid=\xff; csrftoken=[]; =;",
    b"User-Agent: \xff" + b"a" * 500,
]


def basic(client_id: str, secret: str) -> str:
    return "Authorization: Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def rs_basic(stack) -> str:
    return basic(stack.secrets["OAUTH_RS_CLIENT_ID"], stack.secrets["OAUTH_RS_CLIENT_SECRET"])


def demo_basic(stack) -> str:
    return basic(stack.secrets["DEMO_CLIENT_ID"], stack.secrets["DEMO_CLIENT_SECRET"])


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_introspection_ignores_a_query_string_oauthlib_cannot_parse(client, stack, query):
    token = client.client_credentials_token()

    response = send(stack.auth_url, "POST", f"/o/introspect/?{query}", [rs_basic(stack)], f"token={token}".encode())

    assert response.status == 200, response.body[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["active"] is True


@pytest.mark.parametrize("endpoint", ["/o/token/", "/o/revoke_token/"])
@pytest.mark.parametrize("query", ODD_QUERIES)
def test_token_and_revocation_refuse_a_query_string_with_invalid_request(stack, endpoint, query):
    body = b"grant_type=client_credentials&token=x"

    response = send(stack.auth_url, "POST", f"{endpoint}?{query}", [demo_basic(stack)], body)

    assert response.status == 400, response.body[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": "invalid_request", "error_description": "URL query parameters are not allowed"}


@pytest.mark.parametrize("endpoint", ["/o/token/", "/o/revoke_token/", "/o/introspect/"])
@pytest.mark.parametrize(
    "authorization",
    [b"Authorization: Basic \xff\xfe", b"Authorization: Basic \xc3\xa9t\xc3\xa9", b"Authorization: Basic %%%"],
    ids=["latin-1", "utf-8", "not-base64"],
)
def test_basic_credentials_that_are_not_base64_text_are_invalid_client(stack, endpoint, authorization):
    response = send(stack.auth_url, "POST", endpoint, [authorization], b"grant_type=client_credentials&token=x")

    assert response.status == 401, response.body[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("POST", "/o/token/", b"grant_type=client_credentials&client_id=%00&client_secret=x"),
        ("POST", "/o/token/", b"grant_type=authorization_code&code=a%00b&client_id=demo-public&code_verifier=x"),
        ("POST", "/o/token/", b"grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=%00"),
        ("POST", "/o/revoke_token/", b"token=x&client_id=demo-public%00"),
        ("POST", "/o/introspect/", b"token=x&client_id=resource-server%00&client_secret=x"),
        ("GET", "/o/authorize/?client_id=%00&response_type=code", b""),
    ],
    ids=["token-client", "token-code", "token-device-code", "revoke", "introspect", "authorize"],
)
def test_nul_in_a_parameter_is_invalid_request(stack, method, target, body):
    # PostgreSQL cannot store NUL: psycopg 3 raised DataError, a 500, where SQLite found nothing.
    response = send(stack.auth_url, method, target, [], body)

    assert response.status == 400, response.body[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "A request parameter contains a NUL character.",
    }


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_sign_in_with_a_username_longer_than_any_is_refused_as_usual(stack, path):
    # Django's sign-in form does not limit the username's length; PostgreSQL refused
    # one longer than the failure records hold (a 500).
    session = requests.Session()
    action, fields = form(session.get(f"{stack.auth_url}{path}", timeout=10))
    fields.update(username="x" * 300, password="wrong")

    response = session.post(action, data=fields, allow_redirects=False, timeout=10)

    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/html")
    assert "sessionid" not in response.cookies
    assert 'name="password"' in response.text


def test_device_grant_without_device_code_is_invalid_request(stack):
    response = send(stack.auth_url, "POST", "/o/token/", [], b"grant_type=urn:ietf:params:oauth:grant-type:device_code")

    assert response.status == 400, response.body[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": "invalid_request", "error_description": "The device_code parameter is missing."}


def test_resource_that_is_no_uri_is_invalid_target_at_the_token_endpoint(stack):
    body = b"grant_type=client_credentials&resource=https://[::1/"

    response = send(stack.auth_url, "POST", "/o/token/", [demo_basic(stack)], body)

    assert response.status == 400, response.body[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_target"


def test_authorization_request_with_a_resource_that_is_no_uri_redirects_invalid_target(client):
    session, query, _, _ = client.at_consent(scope="read", state="odd")

    response = session.get(
        f"{client.stack.auth_url}/o/authorize/?{urlencode({**query, 'resource': 'https://[::1/'})}",
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == 302, response.text[:300]
    location = urlsplit(response.headers["Location"])
    assert response.headers["Location"].startswith(client.secrets["DEMO_REDIRECT_URI"])
    assert parse_qs(location.query)["error"] == ["invalid_target"]
    assert parse_qs(location.query)["state"] == ["odd"]


@pytest.mark.parametrize("changed", [{"client_id": "no-such-client"}, {"resource": "https://[::1/"}])
def test_consent_form_changed_in_the_browser_is_refused(client, changed):
    session, _, page, _ = client.at_consent(scope="read")
    fields = form(page)[1]

    response = session.post(
        f"{client.stack.auth_url}/o/authorize/",
        data={**fields, "allow": "Authorize", **changed},
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == 400, response.text[:300]
    assert "Location" not in response.headers
    assert "For the app's developers" in response.text


def expected_answer(stack, endpoint: str) -> tuple[str, list[str], bytes, int]:
    """How each endpoint is called in the sweep, and the status it must answer."""
    if endpoint == "/o/token/":
        return "POST", [demo_basic(stack)], b"grant_type=client_credentials", 400  # query parameters refused
    if endpoint == "/o/revoke_token/":
        return "POST", [demo_basic(stack)], b"token=x", 400
    if endpoint == "/o/introspect/":
        return "POST", [rs_basic(stack)], b"token=x", 200
    if endpoint == "/o/authorize/":
        return "GET", [], b"", 400  # no client: refused before the sign-in page
    return "GET", [], b"", 200


@pytest.mark.parametrize(
    "endpoint",
    [
        "/o/token/",
        "/o/revoke_token/",
        "/o/introspect/",
        "/o/authorize/",
        "/.well-known/oauth-authorization-server",
        "/accounts/login/",
        "/admin/login/",
    ],
)
def test_every_endpoint_answers_odd_query_strings_and_headers_as_usual(stack, endpoint):
    method, headers, body, status = expected_answer(stack, endpoint)

    for query in ODD_QUERIES:
        for header in [None, *ODD_HEADERS]:
            sent = headers + ([header] if header else [])
            response = send(stack.auth_url, method, f"{endpoint}?{query}", sent, body)
            assert response.status == status, (query, header, response.body[:300])
            assert response.headers["Content-Type"], (query, header)
