import base64
import hashlib
import json
import time
import uuid
from unittest import mock

from django.core.cache import caches
from django.test import Client, SimpleTestCase, override_settings
from jwcrypto.jwk import JWK

from introspection import cache, jwks, revocations
from introspection import security_events as events
from introspection.throttled_log import ThrottledLog

from . import jose
from .jose import AS_KEY, AS_KID, FOREIGN_KEY
from .test_revocations import ANSWERS, BOB, CAROL, Process

ISSUER = "http://as.invalid"
RESOURCE = "http://testserver/"
TOKEN_A = hashlib.sha256(b"tok-a").hexdigest()
# Each valid notice (its event type, sub_id and payload), and the tokens whose cached answers it makes misses.
NOTICES = {
    "session-revoked": (events.SESSION_REVOKED, {"format": "opaque", "id": TOKEN_A}, {}, {"tok-a"}),
    "account-disabled": (
        events.ACCOUNT_DISABLED,
        {"format": "iss_sub", "iss": ISSUER, "sub": BOB["sub"]},
        {},
        {"tok-b"},
    ),
    "credential-change": (
        events.CREDENTIAL_CHANGE,
        {"format": "opaque", "id": CAROL["client_id"]},
        {"credential_type": "client_secret", "change_type": "update"},
        {"tok-c"},
    ),
    "stream-updated": (
        events.STREAM_UPDATED,
        {"format": "opaque", "id": RESOURCE},
        {"status": "disabled"},
        {"tok-a", "tok-b", "tok-c"},
    ),
}


def claims(**changes) -> dict:
    """A valid session-revoked SET's claims, with ``changes`` (a value of None removes the claim)."""
    base = {
        "iss": ISSUER,
        "aud": RESOURCE,
        "iat": int(time.time()),
        "jti": uuid.uuid4().hex,
        "txn": "req-1",
        "sub_id": {"format": "opaque", "id": TOKEN_A},
        "events": {events.SESSION_REVOKED: {}},
    }
    return {name: value for name, value in {**base, **changes}.items() if value is not None}


def signed(payload: dict, key: JWK = AS_KEY, **header) -> str:
    return jose.signed(payload, key, **{"typ": "secevent+jwt", **header})


def unsigned(payload: dict) -> str:
    return jose.unsigned(payload, "secevent+jwt")


def hmac_signed(payload: dict) -> str:
    """HS256 with a secret the attacker knows: the AS's public key's bytes, the classic confusion."""
    secret = JWK(kty="oct", k=base64.urlsafe_b64encode(AS_KEY.export_to_pem()).decode().rstrip("="))
    return signed(payload, secret, alg="HS256")


def err(code: str, description: str) -> dict:
    return {"err": code, "description": description}


@override_settings(RESOURCE_SERVER_LOCAL_CACHE_SECONDS=60)
class ReceiverTests(SimpleTestCase):
    def setUp(self):
        caches["default"].clear()
        self.here = Process()
        self.enterContext(self.here.running())
        self.fetch = self.enterContext(mock.patch.object(jwks, "fetch", return_value={AS_KID: AS_KEY.public()}))
        self.enterContext(mock.patch.object(events, "refusal_log", ThrottledLog(events.log)))
        jwks.keys.clear()
        asked = time.time()
        for token, answer in ANSWERS.items():
            cache.put(token, answer, asked)
        self.other = Process()
        self.other.poll()
        with self.other.running():
            for token in ANSWERS:
                cache.get(token)  # the other process holds them in its local layer
        self.assertEqual(self.other.cached(), set(ANSWERS))

    def post(self, body, content_type="application/secevent+jwt"):
        return self.client.post("/security-events/", data=body, content_type=content_type)

    def assert_refused(self, response, status, body):
        self.assertEqual(response.status_code, status)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(response.json(), body)
        self.assert_nothing_evicted()

    def assert_nothing_evicted(self):
        self.assertEqual(self.here.cached(), set(ANSWERS))
        self.assertFalse(self.here.tombstones)
        self.assertIsNone(caches["default"].get(revocations.COUNTER))
        self.assertIsNotNone(caches["default"].get(cache.key("tok-a")))

    def test_each_notice_evicts_what_it_names_here_and_in_every_other_process(self):
        for name, (event_type, sub_id, payload, evicted) in NOTICES.items():
            with self.subTest(name):
                self.setUp()
                with self.assertLogs("introspection.security_events", "INFO") as logs:
                    response = self.post(signed(claims(sub_id=sub_id, events={event_type: payload}, jti=name)))

                self.assertEqual(response.status_code, 202)
                self.assertEqual(response.content, b"")
                self.assertEqual(self.here.cached(), set(ANSWERS) - evicted)
                self.other.poll()
                self.assertEqual(self.other.cached(), set(ANSWERS) - evicted)
                line = f"security event {name} applied: {name} (txn req-1)"
                self.assertEqual(logs.output, [f"INFO:introspection.security_events:{line}"])

    def test_an_audience_list_naming_this_api_is_accepted(self):
        response = self.post(signed(claims(aud=["http://other.example/", RESOURCE])))

        self.assertEqual(response.status_code, 202)

    def test_refusals(self):
        stale = int(time.time()) - 121
        cases = {
            "forged: a foreign key under the AS's kid": (
                signed(claims(), FOREIGN_KEY),
                err("invalid_key", "The SET's signature does not verify with the authorization server's key."),
            ),
            "unsigned: alg none": (unsigned(claims()), err("invalid_key", "The SET must be signed with RS256.")),
            "HS256 with a known secret": (
                hmac_signed(claims()),
                err("invalid_key", "The SET must be signed with RS256."),
            ),
            "wrong typ": (signed(claims(), typ="JWT"), err("invalid_request", "The SET's typ must be secevent+jwt.")),
            "wrong iss": (
                signed(claims(iss="http://evil.example")),
                err("invalid_issuer", "The SET's iss is not this API's authorization server."),
            ),
            "wrong aud": (
                signed(claims(aud="http://other.example/")),
                err("invalid_audience", "The SET's aud does not name this API."),
            ),
            "no aud": (signed(claims(aud=None)), err("invalid_audience", "The SET's aud does not name this API.")),
            "stale iat": (signed(claims(iat=stale)), err("invalid_request", "The SET is stale: its iat is too old.")),
            "future iat": (
                signed(claims(iat=int(time.time()) + 60)),
                err("invalid_request", "The SET's iat is in the future."),
            ),
            "iat not a number": (
                signed(claims(iat="now")),
                err("invalid_request", "The SET's iat must be a number of seconds."),
            ),
            "no jti": (
                signed(claims(jti=None)),
                err("invalid_request", "The SET's jti must be a string of 1 to 255 characters."),
            ),
            "no event": (signed(claims(events=None)), err("invalid_request", "The SET must carry exactly one event.")),
            "two events": (
                signed(claims(events={events.SESSION_REVOKED: {}, events.STREAM_UPDATED: {}})),
                err("invalid_request", "The SET must carry exactly one event."),
            ),
            "an unknown event": (
                signed(claims(events={"https://schemas.openid.net/secevent/risc/event-type/account-purged": {}})),
                err("invalid_request", "The SET's event type is not one this API acts on."),
            ),
            "a token's sub_id that is no SHA-256": (
                signed(claims(sub_id={"format": "opaque", "id": "*"})),
                err("invalid_request", "A session-revoked sub_id is the token's SHA-256, in hex."),
            ),
            "a sub_id of another format": (
                signed(claims(sub_id={"format": "email", "email": "a@example.com"})),
                err("invalid_request", "The event's sub_id must be of the opaque format."),
            ),
            "a subject of another issuer": (
                signed(
                    claims(
                        sub_id={"format": "iss_sub", "iss": "http://evil.example", "sub": "bob"},
                        events={events.ACCOUNT_DISABLED: {}},
                    )
                ),
                err(
                    "invalid_request",
                    "An account-disabled sub_id must be of the iss_sub format, with this API's issuer.",
                ),
            ),
            "a stream-updated for another API": (
                signed(
                    claims(
                        sub_id={"format": "opaque", "id": "http://other.example/"},
                        events={events.STREAM_UPDATED: {"status": "disabled"}},
                    )
                ),
                err("invalid_request", "The stream-updated event names another API."),
            ),
            "not a JWS": ("not-a-jws", err("invalid_request", "The body is not a JWS in compact serialization.")),
            "a JSON JWS": (
                json.dumps({"payload": "e30", "signature": "x"}),
                err("invalid_request", "The body is not a JWS in compact serialization."),
            ),
            "a header that is not JSON": (
                "bm90.e30.c2ln",
                err("invalid_request", "The SET's header is not a JSON object."),
            ),
        }
        for name, (body, expected) in cases.items():
            with self.subTest(name):
                self.assert_refused(self.post(body), 400, expected)

    def test_a_kid_the_as_does_not_have_is_refused(self):
        self.assert_refused(
            self.post(signed(claims(), kid="junk")),
            400,
            err("invalid_key", "The SET's kid names no key of the authorization server."),
        )

    def test_an_unknown_kid_within_the_refetch_interval_is_retried_then_accepted(self):
        # A notice under the key the AS has just rotated to: refused with a 400, it would never be sent again.
        self.assertEqual(self.post(signed(claims())).status_code, 202)
        new_key = JWK.generate(kty="RSA", size=2048)
        self.fetch.return_value = {AS_KID: AS_KEY.public(), "new": new_key.public()}
        notice = signed(claims(), new_key, kid="new")

        response = self.post(notice)
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Retry-After"], "1")

        with mock.patch.object(jwks.keys, "fetched", jwks.keys.fetched - jwks.REFETCH_SECONDS):  # the AS's retry
            self.assertEqual(self.post(notice).status_code, 202)

    def test_a_replayed_notice_is_refused(self):
        notice = signed(claims(events={events.CREDENTIAL_CHANGE: {}}, sub_id={"format": "opaque", "id": "app-9"}))
        self.assertEqual(self.post(notice).status_code, 202)
        self.here.tombstones.clear()
        caches["default"].delete(revocations.COUNTER)

        self.assert_refused(
            self.post(notice), 400, err("invalid_request", "The SET was already received (its jti is not new).")
        )

    def test_another_content_type_is_refused(self):
        for content_type in ("application/jwt", "text/plain", "application/json"):
            with self.subTest(content_type):
                self.assert_refused(
                    self.post(signed(claims()), content_type),
                    400,
                    err(
                        "invalid_request",
                        "The request must be a SET of Content-Type application/secevent+jwt (RFC 8935 §2).",
                    ),
                )

    def test_a_body_too_large_is_refused(self):
        body = signed(claims(padding="x" * events.MAX_BYTES))

        self.assert_refused(
            self.post(body), 413, err("invalid_request", f"The SET is larger than {events.MAX_BYTES} bytes.")
        )

    def test_the_as_needs_no_csrf_token(self):
        client = Client(enforce_csrf_checks=True)

        response = client.post("/security-events/", data=signed(claims()), content_type="application/secevent+jwt")

        self.assertEqual(response.status_code, 202)

    def test_only_post(self):
        self.assertEqual(self.client.get("/security-events/").status_code, 405)

    def test_refusals_are_logged_without_the_set(self):
        notice = signed(claims(iss="http://evil.example"))
        with self.assertLogs("introspection.security_events", "WARNING") as logs:
            self.post(notice)

        self.assertEqual(
            logs.output,
            [
                "WARNING:introspection.security_events:security event refused: invalid_issuer: "
                "The SET's iss is not this API's authorization server."
            ],
        )

    def test_without_the_jwks_the_as_is_told_to_retry(self):
        self.fetch.side_effect = jwks.JWKSUnavailable()

        response = self.post(signed(claims()))

        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Retry-After"], "1")
        self.assert_nothing_evicted()

    def test_without_the_token_cache_the_as_is_told_to_retry(self):
        with mock.patch.object(type(caches["default"]), "add", side_effect=ConnectionError()):
            response = self.post(signed(claims()))

        self.assertEqual(response.status_code, 503)
        self.assert_nothing_evicted()

    def test_a_notice_not_fanned_out_is_not_a_replay_when_the_as_retries(self):
        notice = signed(claims())
        with mock.patch.object(type(caches["default"]), "incr", side_effect=ConnectionError()):
            self.assertEqual(self.post(notice).status_code, 503)

        self.assertEqual(self.post(notice).status_code, 202)
        self.other.poll()
        self.assertEqual(self.other.cached(), {"tok-b", "tok-c"})


@override_settings(RESOURCE_SERVER_ISSUER="https://as.example", RESOURCE_SERVER_EVENTS_MAX_AGE=10)
class SettingsTests(SimpleTestCase):
    def setUp(self):
        caches["default"].clear()
        self.enterContext(Process().running())
        self.enterContext(mock.patch.object(jwks, "fetch", return_value={AS_KID: AS_KEY.public()}))

    def test_the_issuer_and_the_max_age_are_the_settings(self):
        response = self.client.post(
            "/security-events/",
            data=signed(claims(iss="https://as.example", iat=int(time.time()) - 11)),
            content_type="application/secevent+jwt",
        )
        self.assertEqual(response.json(), err("invalid_request", "The SET is stale: its iat is too old."))

        response = self.client.post(
            "/security-events/",
            data=signed(claims(iss="https://as.example", iat=int(time.time()) - 9)),
            content_type="application/secevent+jwt",
        )
        self.assertEqual(response.status_code, 202)
