"""A small HTTP server that stands where the authorization server should be.

It either misbehaves in one of the ways a real AS can (hang, fail, answer
garbage), answers whatever raw body a test sets (behaviour "answer", body in
``body``, changeable while it runs), or relays to the real AS while counting the
calls, so a test can see when the resource server introspects. It listens on
loopback only, and each of its answers is bounded in time.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HANG_SECONDS = 10


class FakeAuthorizationServer:
    BEHAVIOURS = ("relay", "hang", "error", "garbage", "no_active", "expired", "answer")

    def __init__(self, behaviour: str, upstream: str | None = None, body: bytes = b""):
        assert behaviour in self.BEHAVIOURS
        self.behaviour = behaviour
        self.upstream = upstream
        self.body = body
        self.calls = 0
        self._lock = threading.Lock()
        self._sessions = threading.local()  # relayed calls reuse their connection to the AS
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/o/introspect/"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def answer(self, body: bytes, authorization: str | None) -> tuple[int, str, bytes]:
        with self._lock:
            self.calls += 1
        if self.behaviour == "relay":
            if not hasattr(self._sessions, "session"):
                self._sessions.session = requests.Session()
            reply = self._sessions.session.post(
                self.upstream,
                data=body,
                headers={"Authorization": authorization or "", "Content-Type": "application/x-www-form-urlencoded"},
                timeout=10,
            )
            return reply.status_code, reply.headers.get("Content-Type", ""), reply.content
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

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real AS offers

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, content_type, payload = fake.answer(body, self.headers.get("Authorization"))
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
