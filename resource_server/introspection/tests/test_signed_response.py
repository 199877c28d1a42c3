import base64
import hashlib
import hmac
import json
import time
from unittest import mock

import requests
from django.core.cache import caches
from django.test import SimpleTestCase, override_settings
from jwcrypto.jwk import JWK

from introspection import cache, client, jwks, signed_response
from introspection.errors import IntrospectionUnavailable
from introspection.throttled_log import ThrottledLog
from shared.token_introspection import MEDIA_TYPE, TYPE

from . import jose
from .jose import AS_KEY, AS_KID, FOREIGN_KEY, b64

EC_KEY = JWK.generate(kty="EC", crv="P-256")
ISSUER = "http://as.invalid"  # the introspection URL's origin (config/settings/test.py)
CLIENT_ID = "rs"  # of RESOURCE_SERVER_INTROSPECTION_CREDENTIALS, rs:secret
ACTIVE = {"active": True, "scope": "read", "client_id": "app", "sub": "1", "username": "alice"}
ME = {"username": "alice", "client_id": "app", "sub": "1", "scope": "read"}
UNAVAILABLE = {
    "error": "temporarily_unavailable",
    "error_description": "The authorization server could not check the access token; retry later.",
}
MISCONFIGURED = "the authorization server is misconfigured: it answered {!r}, not application/token-introspection+jwt"


def claims(**changes) -> dict:
    """A valid signed answer's claims for an active token, with ``changes`` (None removes a claim)."""
    base = {"iss": ISSUER, "aud": CLIENT_ID, "iat": int(time.time()), "token_introspection": ACTIVE}
    return {name: value for name, value in {**base, **changes}.items() if value is not None}


def signed(payload, key: JWK = AS_KEY, **header) -> str:
    return jose.signed(payload, key, **{"typ": TYPE, **header})


def unsigned(payload: dict) -> str:
    return jose.unsigned(payload, TYPE)


def hmac_signed(payload: dict) -> str:
    """HS256 with the secret this API authenticates with, which anyone who shares it knows.

    Made by hand: jwcrypto refuses an HMAC key as short as the test settings' secret.
    """
    signing_input = f"{b64({'alg': 'HS256', 'typ': TYPE, 'kid': AS_KID})}.{b64(payload)}"
    mac = hmac.new(b"secret", signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def answer(body: str, content_type: str = MEDIA_TYPE, status: int = 200) -> requests.Response:
    """What the introspection call returns."""
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = content_type
    response._content = body.encode()
    return response


@override_settings(RESOURCE_SERVER_INTROSPECTION_SIGNED=True, RESOURCE_SERVER_LOCAL_CACHE_SECONDS=60)
class SignedAnswerTests(SimpleTestCase):
    def setUp(self):
        self.post = self.enterContext(mock.patch.object(client, "session")).return_value.post
        self.fetch = self.enterContext(mock.patch.object(jwks, "fetch", return_value={AS_KID: AS_KEY.public()}))
        self.tokens = iter(range(1000))
        self.forget()

    def forget(self):
        """A fresh start: nothing cached, the keys not fetched, the refusal log not throttled."""
        caches["default"].clear()
        cache.local.clear()
        jwks.keys.clear()
        self.enterContext(mock.patch.object(signed_response, "refusal_log", ThrottledLog(signed_response.log)))
        self.enterContext(mock.patch.object(client, "outage_log", ThrottledLog(client.log)))

    def get(self, body: str, content_type: str = MEDIA_TYPE):
        """/api/me/ with a token not asked about before, the AS answering ``body``."""
        self.post.return_value = answer(body, content_type)
        self.token = f"tok-{next(self.tokens)}"
        return self.client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {self.token}")

    def assert_unavailable(self, response):
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Retry-After"], "5")
        self.assertEqual({name: value for name, value in response.json().items() if name != "request_id"}, UNAVAILABLE)

    def assert_refused(self, body: str, reason: str, content_type: str = MEDIA_TYPE):
        self.forget()
        with self.assertLogs("introspection.signed_response", "WARNING") as logs:
            self.assert_unavailable(self.get(body, content_type))
        self.assertEqual(
            logs.output, [f"WARNING:introspection.signed_response:signed introspection answer refused: {reason}"]
        )
        self.assertNotIn(self.token, logs.output[0])

    def test_a_signed_answer_is_asked_for_verified_and_read(self):
        response = self.get(signed(claims()))

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), ME)
        self.assertEqual(self.post.call_args.kwargs["headers"]["Accept"], MEDIA_TYPE)
        self.assertEqual(self.fetch.call_count, 1)

    def test_the_verified_answer_is_cached_as_a_plain_one_is(self):
        self.get(signed(claims()))

        response = self.client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {self.token}")

        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.post.call_count, 1)
        self.assertEqual(cache.get(self.token), ACTIVE)

    def test_an_audience_list_naming_this_api_and_a_clock_difference_are_accepted(self):
        now = int(time.time())
        for changes in ({"aud": ["other", CLIENT_ID]}, {"iat": now + 25}, {"iat": now - 30}):
            with self.subTest(changes):
                self.assertEqual(self.get(signed(claims(**changes))).status_code, 200)

    def test_an_inactive_answer_is_an_invalid_token(self):
        response = self.get(signed(claims(token_introspection={"active": False})))

        self.assertEqual(response.status_code, 401)
        self.assertIn('error="invalid_token"', response["WWW-Authenticate"])

    def test_refusals(self):
        now = int(time.time())
        cases = {
            "forged: a foreign key under the AS's kid": (
                signed(claims(), FOREIGN_KEY),
                "its signature does not verify with the authorization server's key",
            ),
            "alg none": (unsigned(claims()), "its alg is not RESOURCE_SERVER_INTROSPECTION_SIGNING_ALG"),
            "HS256 with this API's client secret": (
                hmac_signed(claims()),
                "its alg is not RESOURCE_SERVER_INTROSPECTION_SIGNING_ALG",
            ),
            "ES256, another asymmetric alg": (
                signed(claims(), EC_KEY, alg="ES256"),
                "its alg is not RESOURCE_SERVER_INTROSPECTION_SIGNING_ALG",
            ),
            "typ JWT": (signed(claims(), typ="JWT"), "its typ is not token-introspection+jwt"),
            "typ of an access token": (signed(claims(), typ="at+jwt"), "its typ is not token-introspection+jwt"),
            "typ as a media type": (signed(claims(), typ=MEDIA_TYPE), "its typ is not token-introspection+jwt"),
            "no typ": (signed(claims(), typ=None), "its typ is not token-introspection+jwt"),
            "a kid the AS does not have, after a refetch": (
                signed(claims(), kid="junk"),
                "its kid names none of the authorization server's keys, fetched again",
            ),
            "not a JWS": ("not-a-jws", "it is not a JWS in compact serialization"),
            "a JSON JWS": (
                json.dumps({"payload": "e30", "signature": "x"}),
                "it is not a JWS in compact serialization",
            ),
            "a header that is not JSON": ("bm90.e30.c2ln", "its JWS header is not a JSON object"),
            "a payload that is not an object": (signed("[1]"), "its payload is not a JSON object"),
            "wrong iss": (signed(claims(iss="http://evil.example")), "its iss is not RESOURCE_SERVER_ISSUER"),
            "no iss": (signed(claims(iss=None)), "its iss is not RESOURCE_SERVER_ISSUER"),
            "wrong aud": (signed(claims(aud="other")), "its aud does not name RESOURCE_SERVER_CLIENT_ID"),
            "an aud list without this API": (
                signed(claims(aud=["other"])),
                "its aud does not name RESOURCE_SERVER_CLIENT_ID",
            ),
            "no aud": (signed(claims(aud=None)), "its aud does not name RESOURCE_SERVER_CLIENT_ID"),
            "no iat": (signed(claims(iat=None)), "its iat is not a number of seconds"),
            "iat a string": (signed(claims(iat=str(now))), "its iat is not a number of seconds"),
            "iat true": (signed(claims(iat=True)), "its iat is not a number of seconds"),
            "iat NaN": (signed(claims(iat=float("nan"))), "its iat is not a number of seconds"),
            "iat infinite": (signed(claims(iat=float("inf"))), "its iat is not a number of seconds"),
            "iat in the future": (signed(claims(iat=now + 60)), "its iat is in the future"),
            "iat older than the call: a replay": (
                signed(claims(iat=now - 30 - 5 - 2)),  # the clock difference, INTROSPECTION_TIMEOUT, and more
                "its iat is too old: an answer replayed",
            ),
            "no token_introspection": (
                signed(claims(token_introspection=None)),
                "its token_introspection is not a JSON object",
            ),
            "token_introspection a string": (
                signed(claims(token_introspection=json.dumps(ACTIVE))),
                "its token_introspection is not a JSON object",
            ),
            "token_introspection a list": (
                signed(claims(token_introspection=[ACTIVE])),
                "its token_introspection is not a JSON object",
            ),
        }
        for name, (body, reason) in cases.items():
            with self.subTest(name):
                self.assert_refused(body, reason)

    def test_a_plain_answer_when_signing_is_required_is_the_as_misconfigured(self):
        for content_type in ("application/json", "application/jwt", "text/html; charset=utf-8", ""):
            with self.subTest(content_type):
                self.assert_refused(
                    json.dumps(ACTIVE), MISCONFIGURED.format(content_type.partition(";")[0]), content_type
                )

    def test_the_media_type_is_matched_without_its_case_and_parameters(self):
        response = self.get(signed(claims()), "Application/Token-Introspection+JWT; charset=utf-8")

        self.assertEqual(response.status_code, 200)

    def test_a_signed_object_that_is_no_rfc_7662_answer_is_refused(self):
        with self.assertLogs("introspection.client", "WARNING"):
            self.assert_unavailable(self.get(signed(claims(token_introspection={"active": "yes"}))))

    @override_settings(RESOURCE_SERVER_INTROSPECTION_SIGNING_ALG="ES256")
    def test_the_algorithm_is_the_setting(self):
        self.fetch.return_value = {AS_KID: EC_KEY.public()}

        self.assertEqual(self.get(signed(claims(), EC_KEY, alg="ES256")).status_code, 200)
        self.assert_refused(signed(claims()), "its alg is not RESOURCE_SERVER_INTROSPECTION_SIGNING_ALG")

    @override_settings(RESOURCE_SERVER_ISSUER="https://as.example", RESOURCE_SERVER_INTROSPECTION_TIMEOUT=60)
    def test_the_issuer_and_the_replay_window_are_the_settings(self):
        old = int(time.time()) - 80

        self.assertEqual(self.get(signed(claims(iss="https://as.example", iat=old))).status_code, 200)
        self.assert_refused(signed(claims()), "its iss is not RESOURCE_SERVER_ISSUER")

    @override_settings(RESOURCE_SERVER_AUTH_TOKEN="rs-token", RESOURCE_SERVER_INTROSPECTION_CREDENTIALS=None)
    def test_in_token_mode_the_audience_is_the_configured_client_id(self):
        with override_settings(RESOURCE_SERVER_CLIENT_ID="notes-api"):
            self.assertEqual(self.get(signed(claims(aud="notes-api"))).status_code, 200)
            self.assert_refused(signed(claims()), "its aud does not name RESOURCE_SERVER_CLIENT_ID")

    def test_a_key_the_as_rotated_to_is_found_by_a_refetch(self):
        self.assertEqual(self.get(signed(claims())).status_code, 200)
        new_key = JWK.generate(kty="RSA", size=2048)
        self.fetch.return_value = {"new": new_key.public()}
        rotated = signed(claims(), new_key, kid="new")

        # Within the refetch interval: the AS's keys cannot be told now (no fetch per junk kid), 503.
        with self.assertLogs("introspection.signed_response", "WARNING"):
            self.assert_unavailable(self.get(rotated))
        self.assertEqual(self.fetch.call_count, 1)

        # The client's retry, after Retry-After, comes past the interval.
        self.assertGreater(IntrospectionUnavailable.wait, jwks.REFETCH_SECONDS)
        with mock.patch.object(jwks.keys, "fetched", jwks.keys.fetched - jwks.REFETCH_SECONDS):
            self.assertEqual(self.get(rotated).status_code, 200)
        self.assertEqual(self.fetch.call_count, 2)

    def test_a_key_the_as_no_longer_publishes_stops_verifying_its_answers(self):
        self.assertEqual(self.get(signed(claims())).status_code, 200)
        # The AS drops the key (docs/openid-connect.md, rotating the key, step 3; or a key that
        # leaked): its JWKS no longer has it, JWKS being cacheable for an hour.
        self.fetch.return_value = {"new": JWK.generate(kty="RSA", size=2048).public()}
        a_day_later = jwks.keys.timer() + 24 * 3600

        # A day later, whoever holds the dropped key signs an answer with it.
        with (
            mock.patch.object(jwks.keys, "timer", lambda: a_day_later),
            self.assertLogs("introspection.signed_response", "WARNING"),
        ):
            self.assert_unavailable(self.get(signed(claims())))
        self.assertEqual(self.fetch.call_count, 2)

    def test_an_answer_cached_while_signing_was_off_is_not_served_once_it_is_on(self):
        # Signing off (before the upgrade, or a replica not yet upgraded, on the same token
        # cache): a plain answer, which anything between the servers could have written.
        with override_settings(RESOURCE_SERVER_INTROSPECTION_SIGNED=False):
            self.post.return_value = answer(json.dumps(ACTIVE), "application/json")
            self.assertEqual(self.client.get("/api/me/", HTTP_AUTHORIZATION="Bearer tok-plain").status_code, 200)

        # Signing on (this process's own layer is empty, as after a restart): the AS's signed answer says inactive.
        self.post.return_value = answer(signed(claims(token_introspection={"active": False})))
        response = self.client.get("/api/me/", HTTP_AUTHORIZATION="Bearer tok-plain")

        self.assertEqual(self.post.call_count, 2)
        self.assertEqual(response.status_code, 401)

    def test_an_iat_with_a_fraction_of_a_second_is_a_numeric_date(self):
        # RFC 7519 §2 NumericDate, which RFC 9701 §5's iat is: "non-integer values can be represented".
        for iat in (time.time(), float(int(time.time())), time.time() + 29.5, time.time() - 30 - 5 + 1.5):
            with self.subTest(iat=iat):
                self.assertEqual(self.get(signed(claims(iat=iat))).status_code, 200)

        # The same window as a whole number's.
        self.assert_refused(signed(claims(iat=time.time() + 31.5)), "its iat is in the future")
        self.assert_refused(signed(claims(iat=time.time() - 30 - 5 - 1.5)), "its iat is too old: an answer replayed")

    def test_without_the_jwks_the_api_answers_503(self):
        self.fetch.side_effect = jwks.JWKSUnavailable()

        with self.assertLogs("introspection.signed_response", "WARNING") as logs:
            self.assert_unavailable(self.get(signed(claims())))

        self.assertEqual(
            logs.output,
            [
                "WARNING:introspection.signed_response:signed introspection answer not verified: "
                "the authorization server's JWKS is unavailable"
            ],
        )

    def test_errors_of_the_as_are_unavailable_before_any_verification(self):
        self.post.return_value = answer(json.dumps({"error": "invalid_client"}), "application/json", status=401)

        with self.assertLogs("introspection.client", "WARNING"):
            response = self.client.get("/api/me/", HTTP_AUTHORIZATION="Bearer tok")

        self.assert_unavailable(response)
        self.fetch.assert_not_called()


@override_settings(RESOURCE_SERVER_INTROSPECTION_SIGNED=False)
class UnsignedAnswerTests(SimpleTestCase):
    def test_without_the_setting_json_is_asked_for_and_read_as_before(self):
        with mock.patch.object(client, "session") as session:
            session.return_value.post.return_value = answer(json.dumps(ACTIVE), "application/json")

            self.assertEqual(client.introspect("tok"), ACTIVE)

        self.assertEqual(session.return_value.post.call_args.kwargs["headers"]["Accept"], "application/json")
