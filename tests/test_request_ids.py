"""Request ids on the running servers: in every answer, in both servers' logs, in the RS's error bodies.

Locally a well-formed X-Request-ID is kept. Under Compose the proxy gives each
request from outside an id of its own (compose/proxy/servers.caddy), so there the
id a client sends is never the one it gets back.
"""

import re
import secrets

import pytest
import requests

from .log_records import eventually, records
from .oauth import bearer
from .raw_http import send
from .stack import free_port

# Request ids are stamped and logged the same way whatever the API's caller mode.
# Once, on the first stack (the one_stack marker).
pytestmark = pytest.mark.one_stack

FRESH = re.compile(r"[0-9a-f]{32}")  # shared.request_id's own
PROXY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")  # Caddy's uuid4


def behind_proxy(stack) -> bool:
    return stack.database == "compose"


def fresh_id(stack, response_id: str) -> bool:
    return bool((PROXY if behind_proxy(stack) else FRESH).fullmatch(response_id))


def new_id() -> str:
    return f"test.{secrets.token_hex(6)}:1-x_y"


def lines_naming(stack, request_id: str, needle: str, logger: str | None = None) -> list[dict]:
    """Log lines of ``request_id`` whose message holds ``needle`` (written by ``logger``), waiting briefly for them."""
    return eventually(
        lambda: [
            line
            for line in records(stack.logs())
            if line["request_id"] == request_id and needle in line["message"] and logger in (None, line["logger"])
        ]
    )


def endpoints(stack) -> dict:
    """A few answers of each server, a success, a 4xx and a redirect among them."""
    return {
        "AS metadata 200": ("GET", f"{stack.auth_url}/.well-known/oauth-authorization-server"),
        "AS token 401": ("POST", f"{stack.auth_url}/o/token/"),
        "AS login page": ("GET", f"{stack.auth_url}/accounts/login/"),
        "AS unknown path 404": ("GET", f"{stack.auth_url}/no-such-page/"),
        "RS health 200": ("GET", f"{stack.resource_url}/healthz"),
        "RS no token 401": ("GET", f"{stack.resource_url}/api/me/"),
        "RS unknown path 404": ("GET", f"{stack.resource_url}/no-such-page/"),
    }


@pytest.mark.parametrize(
    "name",
    ["AS metadata 200", "AS token 401", "AS login page", "AS unknown path 404", "RS health 200", "RS no token 401"]
    + ["RS unknown path 404"],
)
def test_a_well_formed_id_is_the_answers_id(stack, name):
    method, url = endpoints(stack)[name]
    sent = new_id()

    response = requests.request(method, url, headers={"X-Request-ID": sent}, allow_redirects=False, timeout=15)

    assert response.status_code < 500
    if behind_proxy(stack):
        assert fresh_id(stack, response.headers["X-Request-ID"])
    else:
        assert response.headers["X-Request-ID"] == sent


@pytest.mark.parametrize("server", ["auth", "resource"])
def test_without_an_id_the_server_gives_one(stack, server):
    url = stack.auth_url if server == "auth" else stack.resource_url

    first = requests.get(f"{url}/healthz", timeout=15).headers["X-Request-ID"]
    second = requests.get(f"{url}/healthz", timeout=15).headers["X-Request-ID"]

    assert fresh_id(stack, first) and fresh_id(stack, second)
    assert first != second


MALFORMED = [
    b"X-Request-ID: two words",
    b"X-Request-ID: " + b"x" * 129,
    b"X-Request-ID: caf\xc3\xa9",
    b"X-Request-ID: a\tb",
    b'X-Request-ID: "quoted"',
    b"X-Request-ID: <script>",
    b"X-Request-ID: a=b; c",
    b"X-Request-ID: a\r\nX-Request-ID: b",  # two ids, which the server joins with a comma
]


@pytest.mark.parametrize("server", ["auth", "resource"])
@pytest.mark.parametrize("header", MALFORMED)
def test_a_malformed_id_is_replaced_never_echoed(stack, server, header):
    url = stack.auth_url if server == "auth" else stack.resource_url

    response = send(url, "GET", "/api/me/" if server == "resource" else "/o/authorize/", [header])

    assert response.status < 500
    sent = header.split(b": ", 1)[1].decode("latin-1")
    assert response.headers["X-Request-ID"] != sent
    assert fresh_id(stack, response.headers["X-Request-ID"])
    assert sent not in stack.logs()
    # Nor escaped into a JSON line.
    assert not any(sent in str(value) for line in records(stack.logs()) for value in line.values())


@pytest.mark.parametrize("server", ["auth", "resource"])
@pytest.mark.parametrize(
    "header",
    [
        b"X-Request-ID: a\rSet-Cookie: injected=1",
        b"X-Request-ID: a\nSet-Cookie: injected=1",
        b"X-Request-ID: a\r\n Set-Cookie: injected=1",  # obsolete line folding (RFC 9112 §5.2)
        b"X-Request-ID: a\x00b",
        b"X-Request-ID: a\x1bb",
    ],
)
def test_control_characters_in_the_id_split_nothing(stack, server, header):
    url = stack.auth_url if server == "auth" else stack.resource_url

    response = send(url, "GET", "/healthz", [header])

    # The HTTP server (gunicorn, or the proxy) refuses them itself; one that
    # reached Django would be replaced. Either way no header of the client's making.
    assert response.status in (200, 400)
    assert "Set-Cookie" not in response.headers
    if response.status == 200 or "X-Request-ID" in response.headers:
        assert fresh_id(stack, response.headers["X-Request-ID"])


def test_a_cors_preflight_names_its_id(stack):
    sent = new_id()

    response = requests.options(
        f"{stack.resource_url}/api/me/",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET", "X-Request-ID": sent},
        timeout=15,
    )

    assert response.status_code == 200
    if behind_proxy(stack):
        assert fresh_id(stack, response.headers["X-Request-ID"])
    else:
        assert response.headers["X-Request-ID"] == sent


def test_one_id_joins_the_lines_of_both_servers_when_the_rs_introspects(client, stack):
    token = client.client_credentials_token()  # new: no server has cached it

    response = client.api("/api/me/", token, headers={"X-Request-ID": new_id()})

    assert response.status_code == 200
    joined = response.headers["X-Request-ID"]
    # The RS's access line for the call, and the AS's for the introspection it made.
    assert lines_naming(stack, joined, '"GET /api/me/ '), stack.logs()[-3000:]
    assert lines_naming(stack, joined, '"POST /o/introspect/ '), stack.logs()[-3000:]


def test_a_cached_token_needs_no_introspection_line(client, stack):
    # The join above is the introspection's, not any id's reuse: no call, no AS line.
    token = client.client_credentials_token()
    assert client.api("/api/me/", token).status_code == 200

    again = client.api("/api/me/", token, headers={"X-Request-ID": new_id()})

    assert again.status_code == 200
    assert lines_naming(stack, again.headers["X-Request-ID"], '"GET /api/me/ ')
    assert not lines_naming(stack, again.headers["X-Request-ID"], "/o/introspect/")


def test_djangos_own_warning_for_a_4xx_names_the_request(stack):
    # django.request writes it after the middleware has returned (BaseHandler.get_response).
    response = requests.get(f"{stack.resource_url}/api/me/", headers={"X-Request-ID": new_id()}, timeout=15)

    assert response.status_code == 401
    assert lines_naming(stack, response.headers["X-Request-ID"], "Unauthorized: /api/me/", "django.request")


def assert_body_names_the_id(response, status: int):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_the_rs_error_bodies_name_the_request(client, stack):
    read_only = client.client_credentials_token(scope="read")
    answers = {
        "no token": (client.api("/api/me/"), 401),
        "unknown token": (client.api("/api/me/", secrets.token_urlsafe(32)), 401),
        "insufficient scope": (client.api("/api/notes/", read_only, method="POST", json={"text": "x"}), 403),
        "token in the query": (client.api(f"/api/me/?access_token={read_only}"), 400),
        "plain Django view, no token": (client.api("/api/notes/count/"), 401),
        "no such note": (client.api("/api/notes/999999/", client.client_credentials_token(scope="read write")), 404),
    }

    for name, (response, status) in answers.items():
        body = assert_body_names_the_id(response, status)
        if "error" in body:  # RFC 6750 §3's members are untouched
            assert response.headers["WWW-Authenticate"].startswith("Bearer ")
            assert f'error="{body["error"]}"' in response.headers["WWW-Authenticate"], name


@pytest.mark.local_stack
def test_the_503_of_an_unreachable_as_names_the_request(client, stack, resource_server):
    token = client.client_credentials_token()
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=f"http://127.0.0.1:{free_port()}/o/introspect/")
    sent = new_id()

    response = requests.get(f"{server.url}/api/me/", headers={**bearer(token), "X-Request-ID": sent}, timeout=15)

    assert assert_body_names_the_id(response, 503)["error"] == "temporarily_unavailable"
    assert response.headers["X-Request-ID"] == sent
    # Its warning names the request too.
    assert any(
        line["request_id"] == sent and line["message"] == "introspection failed: ConnectionError"
        for line in records(server.log.read_text())
    )
