"""A small HTTP server that stands where the authorization server should be.

It either misbehaves in one of the ways a real AS can (hang, fail, answer
garbage), answers whatever raw body a test sets (behaviour "answer", body in
``body``, changeable while it runs), relays to the real AS while counting the
calls, so a test can see when the resource server introspects, or signs its
answers (RFC 9701, behaviour "signed") with a key it publishes at the JWKS URL an
API derives from the introspection URL, each answer with the fault in ``fault``
(changeable while it runs). It listens on loopback only, and each of its answers
is bounded in time.
"""

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import requests
from jwcrypto import jwk, jwt

from shared.token_introspection import CLAIM, MEDIA_TYPE, TYPE

HANG_SECONDS = 10
JWKS_PATH = "/o/.well-known/jwks.json"
# What a signed answer says of every token: active, for a subject a test can recognise.
INTROSPECTED = {"active": True, "scope": "read", "client_id": "fake-client", "sub": "fake-subject"}
# A signed answer's faults: each one an API must refuse (None: a genuine answer).
FAULTS = (
    None,
    "forged signature",  # signed by another key under the published kid
    "wrong typ",  # an access token of the same issuer (RFC 9068)
    "alg none",
    "HS256 keyed with the API's own secret",  # the secret it presents to introspect (RFC 8725 §2.1)
    "wrong iss",
    "wrong aud",  # an answer the AS made for another API
    "future iat",
    "stale iat",  # an old answer replayed
    "plain JSON",  # an AS that ignores the Accept header
)


def encoded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def presented_secret(authorization: str) -> str:
    """The secret in the caller's Authorization: its client secret (RFC 6749 §2.3.1), or its bearer token."""
    scheme, _, value = authorization.partition(" ")
    if scheme == "Basic":
        return unquote(base64.b64decode(value).decode().partition(":")[2])
    return value


class FakeAuthorizationServer:
    BEHAVIOURS = ("relay", "hang", "error", "garbage", "no_active", "expired", "answer", "signed")

    def __init__(self, behaviour: str, upstream: str | None = None, body: bytes = b"", audience: str = ""):
        assert behaviour in self.BEHAVIOURS
        self.behaviour = behaviour
        self.upstream = upstream
        self.body = body
        self.audience = audience  # "signed": the aud of a genuine answer, the calling API's client_id
        self.fault = None
        self.key = jwk.JWK.generate(kty="RSA", size=2048)
        self.calls = 0
        self.answered: list[tuple[str, str]] = []  # each call's Accept and its answer's Content-Type
        self._lock = threading.Lock()
        self._sessions = threading.local()  # relayed calls reuse their connection to the AS
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.origin}/o/introspect/"

    def jwks(self) -> bytes:
        return json.dumps({"keys": [{**self.key.export_public(as_dict=True), "kid": self.key.thumbprint()}]}).encode()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def answer(self, body: bytes, authorization: str | None, accept: str | None) -> tuple[int, str, bytes]:
        with self._lock:
            self.calls += 1  # before answering: a test sees a call the fake is still hanging on
        status, content_type, payload = self._answer(body, authorization or "", accept)
        with self._lock:
            self.answered.append((accept, content_type))
        return status, content_type, payload

    def _answer(self, body: bytes, authorization: str, accept: str | None) -> tuple[int, str, bytes]:
        if self.behaviour == "relay":
            if not hasattr(self._sessions, "session"):
                self._sessions.session = requests.Session()
            headers = {"Authorization": authorization, "Content-Type": "application/x-www-form-urlencoded"}
            reply = self._sessions.session.post(
                self.upstream, data=body, headers={**headers, **({"Accept": accept} if accept else {})}, timeout=10
            )
            return reply.status_code, reply.headers.get("Content-Type", ""), reply.content
        if self.behaviour == "signed":
            return self.signed(self.fault, authorization)
        if self.behaviour == "hang":
            time.sleep(HANG_SECONDS)
            return 200, "application/json", b'{"active": true, "scope": "read"}'
        if self.behaviour == "error":
            return 500, "text/html", b"<h1>Server Error (500)</h1>"
        if self.behaviour == "answer":
            return 200, "application/json", self.body
        if self.behaviour == "garbage":
            return 200, "application/json", b"\x00\xffnot json at all"
        if self.behaviour == "no_active":
            return 200, "application/json", json.dumps({"scope": "read", "client_id": "x"}).encode()
        # "expired": the AS says active, but exp is in the past.
        claims = {"active": True, "scope": "read", "client_id": "x", "sub": "x", "exp": int(time.time()) - 60}
        return 200, "application/json", json.dumps(claims).encode()

    def signed(self, fault: str | None, authorization: str) -> tuple[int, str, bytes]:
        """An RFC 9701 answer saying INTROSPECTED, genuine or with ``fault``."""
        assert fault in FAULTS
        now = int(time.time())
        introspected = {**INTROSPECTED, "exp": now + 300}
        if fault == "plain JSON":
            return 200, "application/json", json.dumps(introspected).encode()
        header = {"alg": "RS256", "typ": "at+jwt" if fault == "wrong typ" else TYPE, "kid": self.key.thumbprint()}
        claims = {
            "iss": "https://as.attacker.example" if fault == "wrong iss" else self.origin,
            "aud": "another-api" if fault == "wrong aud" else self.audience,
            "iat": now + {"future iat": 300, "stale iat": -300}.get(fault, 0),
            CLAIM: introspected,
        }
        if fault == "alg none":  # jwcrypto makes no unsigned JWS: the fault is the format itself
            parts = ({**header, "alg": "none"}, claims)
            return 200, MEDIA_TYPE, ".".join([*(encoded(json.dumps(part).encode()) for part in parts), ""]).encode()
        key = self.key
        if fault == "forged signature":
            key = jwk.JWK.generate(kty="RSA", size=2048)
        if fault == "HS256 keyed with the API's own secret":
            header["alg"] = "HS256"
            key = jwk.JWK(kty="oct", k=encoded(presented_secret(authorization).encode()))
        token = jwt.JWT(header=header, claims=claims)
        token.make_signed_token(key)
        return 200, MEDIA_TYPE, token.serialize().encode()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real AS offers

            def do_GET(self):
                if fake.behaviour == "signed" and self.path == JWKS_PATH:
                    self.reply(200, "application/json", fake.jwks())
                else:
                    self.reply(404, "text/html", b"<h1>Not Found</h1>")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.reply(*fake.answer(body, self.headers.get("Authorization"), self.headers.get("Accept")))

            def reply(self, status: int, content_type: str, payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the RS gave up waiting, as it should

            def log_message(self, *args):
                pass

        return Handler
