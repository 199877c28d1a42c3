"""Introspection answers signed as JWTs for the APIs that ask (RFC 9701), and the signing they share with SETs."""

import base64
import json
import time
from unittest import mock

from django.conf import settings
from django.http import JsonResponse
from django.test import SimpleTestCase, TestCase, override_settings
from django.urls import reverse
from jwcrypto import jwk, jws, jwt

from authorization import signing
from config.settings.test import signing_key
from shared.token_introspection import CLAIM, MEDIA_TYPE, TYPE

from . import factories

URL = reverse("oauth2_provider:introspect")
PINNED = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": "https://id.example"}


def basic(client_id, secret):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def part(serialized: str, number: int) -> dict:
    encoded = serialized.split(".")[number]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


def another_key() -> str:
    """A new signing key, as OAUTH2_PROVIDER holds it: a PEM."""
    return base64.b64decode(signing_key()).decode("ascii")


class SignedAnswerTests(TestCase):
    def setUp(self):
        self.rs = factories.application("rs", secret="rs-secret", resource_server=True)
        self.team = factories.application("team", secret="team-secret", resource_server=True, scopes="team:read")
        other = factories.application("other", secret="other-secret")
        self.user = factories.user()
        factories.access_token("user-token", other, user=self.user, scope="read write")
        factories.access_token("introspector", self.team, scope="introspection")

    def introspect(self, accept=None, value="user-token", credentials=None):
        headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
        return self.client.post(URL, {"token": value}, **(credentials or basic("rs", "rs-secret")), **headers)

    def verified(self, response) -> tuple[dict, dict]:
        """The header and claims of a signed answer, verified against the JWKS this issuer publishes."""
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], MEDIA_TYPE)
        jwks = jwk.JWKSet.from_json(self.client.get(reverse("oauth2_provider:jwks-info")).content)
        serialized = response.content.decode("ascii")
        header = part(serialized, 0)
        token = jwt.JWT(jwt=serialized, key=jwks.get_key(header["kid"]), algs=["RS256"])
        return header, json.loads(token.claims)

    def test_a_signed_answer_verifies_against_the_published_jwks_and_holds_the_json_answer(self):
        plain = self.introspect().json()

        before = int(time.time())
        header, claims = self.verified(self.introspect(MEDIA_TYPE))

        self.assertEqual(header, {"alg": "RS256", "typ": TYPE, "kid": header["kid"]})
        self.assertIsNotNone(header["kid"])
        self.assertEqual(set(claims), {"iss", "aud", "iat", CLAIM})
        self.assertEqual(claims["iss"], "http://testserver")
        self.assertEqual(claims["iss"], plain["iss"])
        self.assertEqual(claims["aud"], "rs")
        self.assertIsInstance(claims["iat"], int)
        self.assertLessEqual(before, claims["iat"])
        self.assertLessEqual(claims["iat"], int(time.time()))
        self.assertEqual(claims[CLAIM], plain)
        self.assertEqual(claims[CLAIM]["sub"], str(self.user.subject.value))

    def test_an_inactive_token_is_active_false_and_nothing_else(self):
        _, claims = self.verified(self.introspect(MEDIA_TYPE, value="unknown"))

        self.assertEqual(claims[CLAIM], {"active": False})
        self.assertEqual(claims["aud"], "rs")
        self.assertEqual(claims["iss"], "http://testserver")

    def test_the_audience_is_the_caller_with_credentials_or_with_a_bearer_token(self):
        callers = {
            "rs": basic("rs", "rs-secret"),
            "team": basic("team", "team-secret"),
            "team by bearer token": {"HTTP_AUTHORIZATION": "Bearer introspector"},
        }
        for name, credentials in callers.items():
            with self.subTest(name):
                _, claims = self.verified(self.introspect(MEDIA_TYPE, credentials=credentials))
                self.assertEqual(claims["aud"], name.split()[0])
                self.assertEqual(claims[CLAIM]["active"], True)

    @override_settings(OAUTH2_PROVIDER=PINNED)
    def test_the_issuer_is_the_one_the_json_answer_names(self):
        plain = self.introspect().json()
        _, claims = self.verified(self.introspect(MEDIA_TYPE))

        self.assertEqual(plain["iss"], "https://id.example")
        self.assertEqual(claims["iss"], "https://id.example")
        self.assertEqual(claims[CLAIM]["iss"], "https://id.example")

    def test_another_key_does_not_verify_it(self):
        serialized = self.introspect(MEDIA_TYPE).content.decode("ascii")

        with self.assertRaises(jws.InvalidJWSSignature):
            jwt.JWT(jwt=serialized, key=jwk.JWK.generate(kty="RSA", size=2048), algs=["RS256"])

    def test_accept_names_the_media_type_itself_with_a_positive_quality(self):
        signed = [
            MEDIA_TYPE,
            "Application/Token-Introspection+JWT",
            f"{MEDIA_TYPE};q=0.1",
            f"application/json;q=0.9, {MEDIA_TYPE}",
            f"application/json, {MEDIA_TYPE};q=0.5",
            f"*/*, {MEDIA_TYPE}",
        ]
        plain = [
            None,
            "",
            "*/*",
            "application/*",
            "application/json",
            "application/jwt",
            f"{MEDIA_TYPE};q=0",
            f"{MEDIA_TYPE};q=0.000, application/json",
            f"{MEDIA_TYPE}x",
            "application/token-introspection",
            f"{MEDIA_TYPE}; charset*=bogus''x",  # Django cannot decode it: asks for nothing
        ]
        for accept in signed:
            with self.subTest(accept=accept):
                response = self.introspect(accept)
                self.assertEqual(response["Content-Type"], MEDIA_TYPE)
                self.assertEqual(self.verified(response)[1][CLAIM]["active"], True)
        for accept in plain:
            with self.subTest(accept=accept):
                response = self.introspect(accept)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response["Content-Type"], "application/json")
                self.assertEqual(response.json()["active"], True)

    def test_a_caller_that_does_not_ask_gets_the_json_answer_unchanged(self):
        response = self.introspect()

        expected = JsonResponse(response.json()).content
        self.assertEqual(response.content, expected)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertIn("no-store", response["Cache-Control"])

    def test_every_answer_varies_with_accept(self):
        for accept in (None, "*/*", MEDIA_TYPE):
            with self.subTest(accept=accept):
                response = self.introspect(accept)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response["Vary"], "Accept")
                self.assertIn("no-store", response["Cache-Control"])

    def test_errors_stay_plain_json_for_a_caller_that_asks_for_a_jwt(self):
        missing = self.client.post(URL, {}, HTTP_ACCEPT=MEDIA_TYPE, **basic("rs", "rs-secret"))
        refused = self.introspect(MEDIA_TYPE, credentials=basic("rs", "wrong"))

        self.assertEqual(missing.status_code, 400)
        self.assertEqual(missing["Content-Type"], "application/json")
        self.assertEqual(missing.json()["error"], "invalid_request")
        self.assertEqual(refused.status_code, 401)
        self.assertEqual(refused["Content-Type"], "application/json")
        self.assertEqual(refused.json()["error"], "invalid_client")

    @override_settings(AXES_FAILURE_LIMIT=1)
    def test_a_lockout_stays_plain_json(self):
        self.introspect(MEDIA_TYPE, credentials=basic("rs", "wrong"))

        locked = self.introspect(MEDIA_TYPE)

        self.assertEqual(locked.status_code, 429)
        self.assertEqual(locked["Content-Type"], "application/json")
        self.assertEqual(locked.json()["error"], "invalid_client")

    def test_signing_costs_no_query_more_than_json(self):
        self.introspect()  # warm up: the session and the client's lookups

        # The caller's failure count, the caller, its registration, the token with its user, client and subjects.
        with self.assertNumQueries(4):
            self.verified(self.introspect(MEDIA_TYPE))

    def test_a_rotated_key_signs_the_next_answer(self):
        before, _ = self.verified(self.introspect(MEDIA_TYPE))

        with override_settings(OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": another_key()}):
            after, claims = self.verified(self.introspect(MEDIA_TYPE))

        self.assertNotEqual(after["kid"], before["kid"])
        self.assertEqual(claims[CLAIM]["active"], True)


class MetadataTests(TestCase):
    def test_rfc_8414_metadata_names_rs256_for_signed_answers_and_no_encryption(self):
        metadata = self.client.get("/.well-known/oauth-authorization-server").json()

        self.assertEqual(metadata["introspection_signing_alg_values_supported"], ["RS256"])
        self.assertEqual(metadata["introspection_endpoint"], "http://testserver/o/introspect/")
        self.assertNotIn("introspection_encryption_alg_values_supported", metadata)
        self.assertNotIn("introspection_encryption_enc_values_supported", metadata)


class SigningTests(SimpleTestCase):
    def test_the_header_names_the_typ_and_the_key_the_jwks_publishes(self):
        key = jwk.JWK.from_pem(settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"].encode("ascii"))

        serialized = signing.sign({"sub": "x"}, "example+jwt")

        self.assertEqual(part(serialized, 0), {"alg": "RS256", "typ": "example+jwt", "kid": key.thumbprint()})
        claims = json.loads(jwt.JWT(jwt=serialized, key=key, algs=["RS256"]).claims)
        self.assertEqual(set(claims), {"sub", "iat"})
        self.assertIsInstance(claims["iat"], int)

    def test_a_key_is_parsed_once_and_a_changed_key_is_used_at_once(self):
        first, second = another_key(), another_key()
        parse = mock.Mock(wraps=jwk.JWK.from_pem)

        signed = []
        with mock.patch.object(jwk.JWK, "from_pem", parse):
            for pem in (first, first, second, second):
                with override_settings(OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": pem}):
                    signed.append((pem, signing.sign({}, "example+jwt")))

        self.assertEqual(parse.call_count, 2)
        for pem, serialized in signed:
            jwt.JWT(jwt=serialized, key=jwk.JWK.from_pem(pem.encode("ascii")), algs=["RS256"])
        kids = [part(serialized, 0)["kid"] for _, serialized in signed]
        self.assertEqual(kids[0], kids[1])
        self.assertEqual(kids[2], kids[3])
        self.assertNotEqual(kids[1], kids[2])
