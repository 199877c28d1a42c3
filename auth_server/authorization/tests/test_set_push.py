"""RFC 8935 push delivery (authorization.set_push) against a real HTTP receiver on the loopback."""

import datetime
import ipaddress
import json
import os
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import SimpleTestCase

from authorization import set_push

SLOW_SECONDS = 0.25


class Receiver(BaseHTTPRequestHandler):
    """Answers each path as its name says; records what it received, and from which connection."""

    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn's gthread workers

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, dict(self.headers), body))
        self.server.connections.append((self.path, self.client_address))
        path = self.path.partition("?")[0]
        answers = {
            "/accepted": (202, b""),
            "/refused": (400, json.dumps({"err": "invalid_key", "description": "unknown kid\nforged"}).encode()),
            "/failing": (503, b""),
            "/redirect": (307, b""),
        }
        if path == "/hanging":
            time.sleep(1)
        if path == "/slow":
            time.sleep(SLOW_SECONDS)
        status, content = answers.get(path, (202, b""))
        self.send_response(status)
        if path == "/redirect":
            self.send_header("Location", "/accepted")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, *args):
        pass


def certificate(subject: str, key, issuer=None, issuer_key=None, ca=False, **extensions) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    for extension in extensions.values():
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def private_ca(directory: str) -> tuple[str, ssl.SSLContext]:
    """A CA of this test only (its bundle's path) and a server context for 127.0.0.1 signed by it."""
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("Test CA", ca_key, ca=True)
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    server = certificate("127.0.0.1", server_key, ca, ca_key, san=san)
    paths = {name: os.path.join(directory, name) for name in ("ca.pem", "server.pem", "server.key")}
    pem = serialization.Encoding.PEM
    for name, data in (
        ("ca.pem", ca.public_bytes(pem)),
        ("server.pem", server.public_bytes(pem)),
        ("server.key", server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
    ):
        with open(paths[name], "wb") as file:
            file.write(data)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(paths["server.pem"], paths["server.key"])
    return paths["ca.pem"], context


def serve(server: ThreadingHTTPServer, add_cleanup) -> ThreadingHTTPServer:
    server.daemon_threads = True
    server.handle_error = lambda request, address: None  # a client that timed out and left
    server.received, server.connections = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    add_cleanup(server.server_close)
    add_cleanup(server.shutdown)
    return server


class SetPushTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = serve(ThreadingHTTPServer(("127.0.0.1", 0), Receiver), cls.addClassCleanup)

    def setUp(self):
        self.server.received.clear()
        self.server.connections.clear()
        # Each test its own endpoints: one transmitter per endpoint and process.
        self.run_id = self.id().rsplit(".", 1)[-1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}?{self.run_id}"

    def push(self, path: str, jti: str = "jti-1") -> None:
        set_push.push(
            set_push.Delivery(self.url(path), "https://api.example/", jti, "session-revoked", lambda: "a.b.c")
        )

    def received(self, path: str) -> list:
        return [entry for entry in self.server.received if entry[0].startswith(path)]

    def test_a_set_is_posted_as_rfc_8935_asks_and_its_delivery_logged(self):
        with self.assertLogs("authorization.set_push", "INFO") as logs:
            self.push("/accepted")
            self.assertTrue(set_push.drain(5))

        ((_, headers, body),) = self.received("/accepted")
        self.assertEqual(body, b"a.b.c")
        self.assertEqual(headers["Content-Type"], "application/secevent+jwt")
        self.assertEqual(headers["Accept"], "application/json")
        self.assertEqual(
            logs.output,
            ["INFO:authorization.set_push:security event jti-1 (session-revoked) delivered to https://api.example/"],
        )

    def test_a_failing_api_is_retried_then_given_up_with_one_warning(self):
        with mock.patch.object(set_push, "BACKOFF", (0.01,) * 5), self.assertLogs("authorization.set_push") as logs:
            self.push("/failing", "jti-2")
            self.assertTrue(set_push.drain(5))

        self.assertEqual(len(self.received("/failing")), 6)
        warnings = [line for line in logs.output if line.startswith("WARNING")]
        self.assertEqual(
            warnings,
            [
                "WARNING:authorization.set_push:security event jti-2 to https://api.example/ "
                "given up after 6 attempts; the API's caching window bounds the damage"
            ],
        )

    def test_a_refused_set_is_not_retried_and_the_apis_reason_logged_on_one_line(self):
        with self.assertLogs("authorization.set_push", "WARNING") as logs:
            self.push("/refused", "jti-3")
            self.assertTrue(set_push.drain(5))

        self.assertEqual(len(self.received("/refused")), 1)
        self.assertEqual(
            logs.output,
            [
                "WARNING:authorization.set_push:security event jti-3 (session-revoked) refused by "
                "https://api.example/: invalid_key: unknown kid?forged"
            ],
        )

    def test_a_redirect_is_not_followed(self):
        with self.assertLogs("authorization.set_push", "WARNING") as logs:
            self.push("/redirect")
            self.assertTrue(set_push.drain(5))

        self.assertEqual(len(self.received("/redirect")), 1)
        self.assertEqual(self.received("/accepted"), [])
        self.assertIn("HTTP 307", logs.output[0])

    def test_an_unreachable_api_is_retried_like_a_failing_one(self):
        with mock.patch.object(set_push, "BACKOFF", (0,) * 5), self.assertLogs("authorization.set_push") as logs:
            set_push.push(set_push.Delivery("http://127.0.0.1:9/", "https://api.example/", "jti-4", "x", lambda: "a"))
            self.assertTrue(set_push.drain(5))

        self.assertIn("given up after 6 attempts", logs.output[-1])

    def test_a_dead_api_delays_no_other_api(self):
        with mock.patch.object(set_push, "TIMEOUT_SECONDS", 0.5), mock.patch.object(set_push, "BACKOFF", (0.1,) * 5):
            started = time.monotonic()
            self.push("/hanging", "dead")
            self.push("/accepted", "alive")
            while not self.received("/accepted") and time.monotonic() - started < 5:
                time.sleep(0.01)
            elapsed = time.monotonic() - started
            self.assertEqual(len(self.received("/accepted")), 1)
            self.assertLess(elapsed, 0.5)  # before the dead API's first attempt even timed out
            self.assertFalse(set_push.drain(0))  # the dead API's notice is still being retried
            set_push.drain(15)

    def test_push_returns_at_once_and_a_full_queue_drops_with_a_warning(self):
        with mock.patch.object(set_push, "QUEUE_SIZE", 1), self.assertLogs("authorization.set_push", "WARNING") as logs:
            started = time.monotonic()
            for number in range(set_push.SENDERS + 5):  # each sender holds one, the queue one
                self.push("/hanging", f"jti-{number}")
            self.assertLess(time.monotonic() - started, 0.5)
            set_push.drain(5)

        self.assertTrue(any("dropped" in line for line in logs.output))

    def test_a_mass_revocation_goes_out_over_a_few_keep_alive_connections_side_by_side(self):
        count = 2 * set_push.SENDERS
        started = time.monotonic()
        for number in range(count):
            self.push("/slow", f"jti-{number}")
        self.assertTrue(set_push.drain(10))
        elapsed = time.monotonic() - started

        self.assertEqual(len(self.received("/slow")), count)
        self.assertLess(elapsed, count * SLOW_SECONDS * 0.75)  # one at a time takes count * SLOW_SECONDS
        connections = {address for path, address in self.server.connections if path.startswith("/slow")}
        self.assertEqual(len(connections), set_push.SENDERS)  # each sender reuses its own

    def test_an_https_api_behind_a_private_ca_is_reached_with_the_environments_ca_bundle(self):
        with tempfile.TemporaryDirectory() as directory:
            bundle, context = private_ca(directory)
            server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            serve(server, self.addCleanup)
            endpoint = f"https://127.0.0.1:{server.server_port}/accepted?{self.run_id}"
            with (
                mock.patch.dict(os.environ, {"REQUESTS_CA_BUNDLE": bundle}),
                self.assertLogs("authorization.set_push", "INFO") as logs,
            ):
                set_push.push(set_push.Delivery(endpoint, "https://api.example/", "jti-5", "x", lambda: "a.b.c"))
                self.assertTrue(set_push.drain(5))

        self.assertEqual(len(server.received), 1)
        self.assertIn("delivered", logs.output[0])
