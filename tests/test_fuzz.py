"""Malformed input never gives a 500: requests at every endpoint of both servers, and
introspection answers at the resource server.

Run against one local stack of its own (credentials mode, SQLite), not in every
database and mode. Requests are sent byte for byte (tests/raw_http.py) from
127.0.0.3, so the guessing limits they trip never touch the resource server's own
client, which calls the AS from 127.0.0.1. The only 5xx allowed is the resource
server's documented 503 when the AS cannot vouch for a token. Examples are
derived from a fixed seed so that CI is repeatable; FUZZ_EXAMPLES raises their
number for a longer hunt.
"""

import base64
import json
import os
import uuid
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import raw_http
from .fake_authorization_server import FakeAuthorizationServer
from .stack import Server, manage, resource_server_environment, start_stack

SOURCE = "127.0.0.3"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

AUTH_PATHS = [
    "/o/authorize/",
    "/o/token/",
    "/o/revoke_token/",
    "/o/introspect/",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/o/.well-known/jwks.json",
    "/o/userinfo/",
    "/o/logout/",
    "/accounts/login/",
    "/accounts/logout/",
    "/admin/login/",
    "/admin/",
    "/healthz",
]
RESOURCE_PATHS = [
    "/api/me/",
    "/api/notes/",
    "/api/notes/1/",
    "/api/notes/count/",
    "/api/hello/",
    "/.well-known/oauth-protected-resource",
    "/healthz",
]
# What the endpoints serve, most often, and what they do not.
METHODS = st.sampled_from(["GET", "POST"]) | st.sampled_from(["PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND"])
PARAMETERS = [
    "token", "token_type_hint", "grant_type", "client_id", "client_secret", "code", "redirect_uri",
    "refresh_token", "scope", "resource", "code_verifier", "code_challenge", "code_challenge_method",
    "response_type", "state", "username", "password", "next", "access_token", "text", "csrfmiddlewaretoken",
    "nonce", "id_token_hint", "post_logout_redirect_uri", "allow", "prompt", "max_age", "claims", "login_hint",
]  # fmt: skip
VALUES = [
    "", "read", "read write", "introspection", "authorization_code", "client_credentials", "refresh_token",
    "password", "S256", "plain", "code", "token", "https://127.0.0.1:8765/callback", "https://payments.example/",
    "resource-server", "demo-machine", "demo-public", "demo-web", "openid profile email", "http://127.0.0.1:8003/",
    "e30.e30.", "e30.MQ.eHg", "e30.bm90anNvbg.eHg", "a.b.c", "none", "login", "consent", '{"userinfo": 1}',
    "[1]", "{}", "%", "%zz", "%00", "\x00", "é", "\ud7ff",
    "a" * 3000,
]  # fmt: skip


@st.composite
def forms(draw) -> bytes:
    """A query string or form body as a careless or hostile client writes it: not always valid."""
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(PARAMETERS) | st.text(max_size=8),
                st.sampled_from(VALUES) | st.text(max_size=40),
            ),
            max_size=6,
        )
    )
    quoted = draw(st.booleans())

    def encode(text: str) -> bytes:
        raw = text.encode("utf-8", "surrogatepass")
        return quote_from_bytes(raw).encode() if quoted else raw

    tail = draw(st.sampled_from([b"", b"&", b"=", b"&&x", b"[1]", b"%", b"%ff%fe", b";a=b"]))
    return b"&".join(encode(name) + b"=" + encode(value) for name, value in pairs) + tail


@st.composite
def queries(draw) -> bytes:
    """A query string, often with one character that RFC 3986 reserves or excludes."""
    query = bytearray(draw(forms()))
    if draw(st.booleans()):
        query.insert(draw(st.integers(0, len(query))), draw(st.sampled_from(b"[][]{}|^")))
    # Nothing that would break the request line itself.
    return bytes(byte for byte in query if byte > 0x20 and byte != 0x7F)


def basic(client_id: str, secret: str) -> str:
    return base64.b64encode(f"{client_id}:{secret}".encode("utf-8", "surrogatepass")).decode()


@st.composite
def authorizations(draw) -> list[bytes]:
    scheme = draw(st.sampled_from(["Basic", "basic", "BASIC", "Bearer", "bearer", "Digest", "", "Basic  "]))
    value = draw(
        st.sampled_from(["", "x", "=", "a b", "Zm9v", "not base64!", "e30=", "OjpmOg=="])
        | st.builds(basic, st.sampled_from(["resource-server", "demo-machine", "x", "", "é"]), st.text(max_size=20))
        | st.binary(max_size=40).map(lambda data: base64.b64encode(data).decode())
        | st.text(max_size=40)
    )
    header = f"Authorization: {scheme} {value}".encode("utf-8", "surrogatepass")
    return [header.replace(b"\r", b"").replace(b"\n", b"")]


JSON_BODIES = [b"{}", b"[]", b'{"text": 1}', b'{"text": "x"}', b"null", b'"', b"\x00" * 10, b"[" * 100_000]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=bogus",
    "application/json",
    "application/json; charset=utf-16",
    "multipart/form-data; boundary=x",
    "multipart/form-data",
    "text/plain",
    "",
]


@st.composite
def requests_to(draw, path: str) -> dict:
    method = draw(METHODS)
    query = draw(queries())
    target = path.encode() + (b"?" + query if query else b"")
    headers = []
    if draw(st.booleans()):
        headers += draw(authorizations())
    if draw(st.booleans()):
        headers.append(f"Content-Type: {draw(st.sampled_from(CONTENT_TYPES))}".encode())
    if draw(st.booleans()):
        headers.append(b"Cookie: csrftoken=" + draw(st.sampled_from([b"x", b"", b"a" * 64, b"\xff"])))
    if draw(st.booleans()):
        headers.append(b"X-Forwarded-For: " + draw(st.sampled_from([b"1.2.3.4", b"junk", b"::1, 10.0.0.1", b""])))
    body = b""
    if method not in ("GET", "HEAD"):
        body = draw(forms() | st.binary(max_size=200) | st.sampled_from(JSON_BODIES))
    return {"method": method, "target": target, "headers": headers, "body": body}


def assert_no_server_error(response, request):
    if response.status == 503:
        # The RS's documented answer when the AS cannot vouch for a token.
        assert response.headers["Retry-After"], request
        assert response.json()["error"] == "temporarily_unavailable", request
    else:
        assert response.status < 500, (response.status, request, response.body[:300])


@pytest.fixture(scope="module")
def fuzz_stack():
    running = start_stack("credentials", "sqlite")
    yield running
    running.stop()


@pytest.mark.parametrize(
    "server, path", [("auth", path) for path in AUTH_PATHS] + [("resource", path) for path in RESOURCE_PATHS]
)
def test_no_request_gives_a_server_a_500(fuzz_stack, server, path):
    base_url = fuzz_stack.auth_url if server == "auth" else fuzz_stack.resource_url

    @FUZZ
    @given(request=requests_to(path))
    def check(request):
        response = raw_http.send(base_url, source_address=SOURCE, **request)
        assert_no_server_error(response, request)

    check()


CLAIMS = ["active", "exp", "iat", "nbf", "scope", "sub", "aud", "client_id", "username", "token_type", "iss"]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["read", "read write", "Bearer", "refresh_token", "http://127.0.0.1/"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
# Numbers json.dumps cannot write: beyond a float, and beyond Python's int-parsing limit.
LITERALS = [b"1e400", b"-1e400", b"NaN", b"Infinity", b"-Infinity", b"1" + b"0" * 400, b"9" * 5000, b"1e-400"]


@st.composite
def introspection_answers(draw) -> bytes:
    claims = draw(st.dictionaries(st.sampled_from(CLAIMS), JSON_VALUES, max_size=len(CLAIMS)))
    if draw(st.booleans()):
        # Often a well-formed active answer, so that the views behind the check run too.
        claims = {"scope": "read write", "sub": "fuzzed-subject", **claims, "active": True}
    literal = draw(st.none() | st.sampled_from(LITERALS))
    if literal is not None:
        claims[draw(st.sampled_from(["exp", "iat", "nbf"]))] = "LITERAL"
    body = json.dumps(claims).encode().replace(b'"LITERAL"', literal or b"")
    cut = draw(st.sampled_from([None, "half", "trailing", "leading"]))
    return {None: body, "half": body[: len(body) // 2], "trailing": body + b"x", "leading": b"\xff" + body}[cut]


@pytest.fixture(scope="module")
def answering_as(fuzz_stack, tmp_path_factory):
    with FakeAuthorizationServer("answer") as fake:
        database = f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/resource-server.sqlite3"
        env = resource_server_environment(
            fuzz_stack.auth_url, "credentials", fuzz_stack.secrets, database, RESOURCE_SERVER_INTROSPECTION_URL=fake.url
        )
        manage("resource_server", "migrate", "--no-input", env=env)
        server = Server("resource", env, int(env["RS_PORT"]))
        server.start()
        yield fake, server
        server.stop()


def test_no_introspection_answer_gives_the_resource_server_a_500(answering_as):
    fake, server = answering_as

    @settings(FUZZ, max_examples=3 * EXAMPLES)
    @given(answer=introspection_answers(), method=st.sampled_from(["GET /api/me/", "POST /api/notes/"]))
    def check(answer, method):
        fake.body = answer
        verb, path = method.split()
        request = {
            "method": verb,
            "target": path,
            # A token of its own each time: nothing comes from the cache.
            "headers": [f"Authorization: Bearer {uuid.uuid4().hex}", "Content-Type: application/json"],
            "body": b'{"text": "fuzz"}' if verb == "POST" else b"",
        }
        response = raw_http.send(server.url, **request)
        assert_no_server_error(response, {"answer": answer, **request})
        assert response.status in (200, 201, 401, 403, 503), (response.status, answer)

    check()
