"""OpenID Connect at this issuer: keys, discovery, the scopes, claims, userinfo, loopback redirects, RP-initiated
logout, the seed."""

import base64
import hashlib
import json
import os
from io import StringIO
from unittest import mock
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import SimpleTestCase, TestCase, override_settings
from jwcrypto import jwk, jwt
from oauth2_provider.settings import oauth2_settings

from authorization import loopback, oidc_keys
from authorization.introspection import introspect
from authorization.models import ResourceServer, Subject
from config.settings.test import signing_key

from . import factories
from .factories import AccessToken, Application

SECRET = "web-secret-" + "x" * 40
LOOPBACK_REDIRECT = "http://127.0.0.1:8003/callback/"
LOOPBACK_LOGOUT = "http://127.0.0.1:8003/"
VERIFIER = "v" * 64
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def web_client(client_id="web", redirect_uri=LOOPBACK_REDIRECT, post_logout_redirect_uri=LOOPBACK_LOGOUT):
    return Application.objects.create(
        client_id=client_id,
        client_secret=SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        post_logout_redirect_uris=post_logout_redirect_uri,
        algorithm=Application.RS256_ALGORITHM,
    )


def encoded(pem: bytes) -> str:
    return base64.b64encode(pem).decode()


class SigningKeyTests(SimpleTestCase):
    def test_a_missing_key_is_one_clear_line(self):
        with self.assertRaises(ImproperlyConfigured) as caught:
            oidc_keys.signing_key("OIDC_RSA_PRIVATE_KEY", " ")
        message = str(caught.exception)
        self.assertIn("OIDC_RSA_PRIVATE_KEY is not set", message)
        self.assertIn("make env", message)
        self.assertNotIn("\n", message)

    def test_what_is_not_an_rsa_private_key_is_refused(self):
        ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public_pem = jwk.JWK.from_pem(base64.b64decode(signing_key())).export_to_pem()
        for value in ("not base64!", encoded(b"not a key"), encoded(ec_pem), encoded(public_pem)):
            with self.subTest(value=value[:20]), self.assertRaises(ImproperlyConfigured) as caught:
                oidc_keys.signing_key("OIDC_RSA_PRIVATE_KEY", value)
            self.assertIn("OIDC_RSA_PRIVATE_KEY", str(caught.exception))
            self.assertNotIn("\n", str(caught.exception))

    def test_the_key_is_base64_of_its_pem_or_the_pem_itself(self):
        value = signing_key()
        pem = base64.b64decode(value).decode()
        self.assertEqual(oidc_keys.signing_key("K", value), pem)
        self.assertEqual(oidc_keys.signing_key("K", pem), pem.strip())

    def test_empty_entries_of_the_inactive_list_are_skipped(self):
        # DOT raises ValueError on an empty string in OIDC_RSA_PRIVATE_KEYS_INACTIVE.
        first, second = signing_key(), signing_key()
        keys = oidc_keys.inactive_keys("INACTIVE", f",{first}, ,{second},")
        self.assertEqual(keys, [base64.b64decode(first).decode(), base64.b64decode(second).decode()])
        self.assertEqual(oidc_keys.inactive_keys("INACTIVE", ""), [])
        with self.assertRaisesMessage(ImproperlyConfigured, "INACTIVE (key 2)"):
            oidc_keys.inactive_keys("INACTIVE", f"{first},garbage")


class LoopbackTests(SimpleTestCase):
    def test_http_is_accepted_for_loopback_ip_literals_only(self):
        for uri in ("http://127.0.0.1:8003/callback/", "http://127.0.0.1/", "http://[::1]:9/cb"):
            self.assertTrue(loopback.is_loopback_http(uri), uri)
            self.assertTrue(loopback.may_register(uri), uri)
            self.assertIn("http", loopback.redirect_schemes(None, uri), uri)
        for uri in (
            "http://localhost:8003/",
            "http://127.0.0.2/",
            "http://127.0.0.1.example/",
            "http://example.com/",
            "https://127.0.0.1/",
            "http://127.0.0.1:99999/",
            "http://[::1/",
        ):
            self.assertFalse(loopback.is_loopback_http(uri), uri)
            self.assertNotIn("http", loopback.redirect_schemes(None, uri), uri)
        self.assertFalse(loopback.may_register("http://app.example/cb"))
        self.assertTrue(loopback.may_register("https://app.example/cb"))

    def test_any_port_matches_for_loopback_ip_literals_and_localhost_keeps_its_own(self):
        # DOT's ALLOW_LOCALHOST_LOOPBACK is off: localhost is no loopback address here.
        self.assertTrue(
            Application(redirect_uris=LOOPBACK_REDIRECT).redirect_uri_allowed("http://127.0.0.1:1/callback/")
        )
        localhost = Application(redirect_uris="http://localhost:8003/callback/")
        self.assertTrue(localhost.redirect_uri_allowed("http://localhost:8003/callback/"))
        self.assertFalse(localhost.redirect_uri_allowed("http://localhost:1/callback/"))


class DiscoveryTests(TestCase):
    def test_discovery_at_the_root_and_under_o_names_the_issuer_of_rfc_8414_metadata(self):
        metadata = self.client.get("/.well-known/oauth-authorization-server").json()
        root = self.client.get("/.well-known/openid-configuration").json()
        prefixed = self.client.get("/o/.well-known/openid-configuration").json()

        self.assertEqual(metadata["issuer"], "http://testserver")
        self.assertEqual(root, prefixed)
        self.assertEqual(root["issuer"], metadata["issuer"])
        self.assertEqual(root["response_types_supported"], ["code"])
        self.assertEqual(root["id_token_signing_alg_values_supported"][0], "RS256")
        self.assertEqual(root["jwks_uri"], "http://testserver/o/.well-known/jwks.json")
        self.assertEqual(root["userinfo_endpoint"], "http://testserver/o/userinfo/")
        self.assertEqual(root["end_session_endpoint"], "http://testserver/o/logout/")
        self.assertLessEqual({"openid", "profile", "email"}, set(root["scopes_supported"]))
        self.assertNotIn("introspection", root["scopes_supported"])
        self.assertLessEqual(
            {"sub", "name", "email", "email_verified", "preferred_username"}, set(root["claims_supported"])
        )
        for name in ("jwks_uri", "userinfo_endpoint", "end_session_endpoint"):
            self.assertEqual(metadata[name], root[name], name)

    @override_settings(OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": "https://id.example"})
    def test_a_pinned_issuer_is_the_same_whatever_host_asks(self):
        for host in ("testserver", "localhost"):
            with self.subTest(host=host):
                metadata = self.client.get("/.well-known/oauth-authorization-server", HTTP_HOST=host).json()
                discovery = self.client.get("/.well-known/openid-configuration", HTTP_HOST=host).json()
                self.assertEqual(metadata["issuer"], "https://id.example")
                self.assertEqual(discovery["issuer"], "https://id.example")
                self.assertEqual(discovery["userinfo_endpoint"], "https://id.example/o/userinfo/")

    def test_rs256_is_the_only_id_token_algorithm_named(self):
        # DOT adds HS256, which signs with the client secret in clear: every secret here is hashed.
        for url in ("/.well-known/openid-configuration", "/o/.well-known/openid-configuration"):
            response = self.client.get(url)
            self.assertEqual(response["Access-Control-Allow-Origin"], "*")
            self.assertEqual(response.json()["id_token_signing_alg_values_supported"], ["RS256"], url)

    def test_jwks_holds_the_signing_key_and_the_inactive_ones(self):
        inactive = signing_key()
        provider = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [base64.b64decode(inactive).decode()]}
        with override_settings(OAUTH2_PROVIDER=provider):
            keys = self.client.get("/o/.well-known/jwks.json").json()["keys"]
        active = jwk.JWK.from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY.encode())
        self.assertEqual(
            [key["kid"] for key in keys],
            [active.thumbprint(), jwk.JWK.from_pem(base64.b64decode(inactive)).thumbprint()],
        )
        self.assertTrue(all(key["alg"] == "RS256" and key["use"] == "sig" and "d" not in key for key in keys))


class CodeFlow:
    """The code flow through Django's test client, signed in as Alice, for the client ``web``."""

    def setUp(self):
        self.user = factories.user()
        self.user.first_name, self.user.last_name, self.user.email = "Alice", "Liddell", "alice@example.com"
        self.user.save()
        self.app = web_client()
        self.client.force_login(self.user)

    def authorization_request(self, redirect_uri=LOOPBACK_REDIRECT, scope="openid profile email", **extra):
        return {
            "response_type": "code",
            "client_id": self.app.client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": "s1",
            "nonce": "n-0S6_WzA2Mj",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
            **extra,
        }

    def authorize(self, redirect_uri=LOOPBACK_REDIRECT, scope="openid profile email", **extra):
        query = self.authorization_request(redirect_uri, scope, **extra)
        page = self.client.get(f"/o/authorize/?{urlencode(query)}")
        self.assertEqual(page.status_code, 200, page.content[:300])
        form = {name: value for name, value in query.items() if name != "response_type"}
        return self.client.post("/o/authorize/", {**form, "response_type": "code", "allow": "Authorize"})

    def tokens(self, redirect_uri=LOOPBACK_REDIRECT, **extra):
        redirect = self.authorize(redirect_uri, **extra)
        self.assertEqual(redirect.status_code, 302)
        code = parse_qs(urlsplit(redirect["Location"]).query)["code"][0]
        response = self.client.post(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": VERIFIER,
                "client_id": "web",
                "client_secret": SECRET,
            },
        )
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()

    def id_token_claims(self, tokens) -> dict:
        key = jwk.JWK.from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY.encode())
        token = jwt.JWT(jwt=tokens["id_token"], key=key, algs=["RS256"])
        self.assertEqual(json.loads(token.token.objects["protected"])["kid"], key.thumbprint())
        return json.loads(token.claims)


class CodeFlowTests(CodeFlow, TestCase):
    """The code flow to the ID token and userinfo."""

    def test_the_id_token_carries_the_subject_introspection_gives_and_the_claims_of_the_scopes(self):
        tokens = self.tokens()
        claims = self.id_token_claims(tokens)
        rs = ResourceServer.objects.create(application=factories.application("rs"), scopes="read")

        subject = str(Subject.of(self.user).value)
        self.assertNotEqual(subject, str(self.user.pk))
        self.assertEqual(claims["sub"], subject)
        self.assertEqual(introspect(tokens["access_token"], None, "http://testserver", rs)["sub"], subject)
        self.assertEqual(claims["iss"], "http://testserver")
        self.assertEqual(claims["aud"], "web")
        self.assertEqual(claims["nonce"], "n-0S6_WzA2Mj")
        self.assertEqual(claims["auth_time"], int(self.user.__class__.objects.get().last_login.timestamp()))
        self.assertEqual(claims["name"], "Alice Liddell")
        self.assertEqual((claims["given_name"], claims["family_name"]), ("Alice", "Liddell"))
        self.assertEqual(claims["preferred_username"], "alice")
        self.assertEqual((claims["email"], claims["email_verified"]), ("alice@example.com", False))
        self.assertEqual(claims["exp"] - claims["iat"], settings.ID_TOKEN_EXPIRE_SECONDS)

        userinfo = self.client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
        self.assertEqual(userinfo.status_code, 200)
        self.assertEqual(userinfo.json()["sub"], subject)
        self.assertEqual(userinfo.json()["email"], "alice@example.com")

    def test_userinfo_takes_the_access_token_of_a_sign_in_that_asked_for_an_api_too(self):
        factories.application("rs", resource_server=True, resource="https://notes.example/")
        tokens = self.tokens(scope="openid read", resource="https://notes.example/")
        bound = f"Bearer {tokens['access_token']}"
        self.assertEqual(self.client.get("/o/userinfo/", HTTP_AUTHORIZATION=bound).status_code, 200)
        # Without openid, a token bound to an API is still not userinfo's.
        factories.access_token("api-only", self.app, self.user, scope="read", resource=["https://notes.example/"])
        self.assertIn(self.client.get("/o/userinfo/", HTTP_AUTHORIZATION="Bearer api-only").status_code, (401, 403))

    def test_claims_follow_the_scopes_and_empty_ones_are_left_out(self):
        self.user.first_name = self.user.last_name = self.user.email = ""
        self.user.save()
        claims = self.id_token_claims(self.tokens(scope="openid profile"))
        self.assertNotIn("email", claims)
        self.assertNotIn("email_verified", claims)
        self.assertNotIn("given_name", claims)
        self.assertNotIn("name", claims)
        self.assertEqual(claims["preferred_username"], "alice")

        only_openid = self.id_token_claims(self.tokens(scope="openid"))
        self.assertNotIn("preferred_username", only_openid)
        self.assertEqual(only_openid["sub"], str(Subject.of(self.user).value))

    def test_prompt_none_is_answered_login_required_not_a_500(self):
        query = {
            "response_type": "code",
            "client_id": "web",
            "redirect_uri": LOOPBACK_REDIRECT,
            "scope": "openid",
            "state": "s1",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
            "prompt": "none",
        }
        for signed_in in (True, False):
            if not signed_in:
                self.client.logout()
            response = self.client.get(f"/o/authorize/?{urlencode(query)}")
            self.assertEqual(response.status_code, 302, signed_in)
            answer = parse_qs(urlsplit(response["Location"]).query)
            self.assertTrue(response["Location"].startswith(LOOPBACK_REDIRECT))
            self.assertEqual((answer["error"], answer["state"]), (["login_required"], ["s1"]))

    def test_a_loopback_redirect_uri_may_use_plain_http_on_any_port(self):
        # RFC 8252 §7.3: the port is the client's choice at the time of the request.
        redirect = self.authorize(redirect_uri="http://127.0.0.1:51234/callback/")
        self.assertEqual(redirect.status_code, 302)
        self.assertTrue(redirect["Location"].startswith("http://127.0.0.1:51234/callback/?"), redirect["Location"])

    def test_a_registered_http_uri_that_is_not_loopback_is_still_refused(self):
        self.app.redirect_uris = "http://app.example/callback/"
        self.app.save()
        response = self.authorize(redirect_uri="http://app.example/callback/")
        self.assertEqual(response.status_code, 400)
        self.assertNotIn("Location", response)


class OpenIDConnectScopeTests(CodeFlow, TestCase):
    """openid, profile and email are for clients that can receive an ID token: code flow, RS256."""

    def test_a_client_credentials_client_asking_for_them_gets_invalid_scope(self):
        factories.application("machine")
        for scope in ("openid", "profile", "email", "openid read"):
            with self.subTest(scope=scope):
                response = self.client.post(
                    "/o/token/",
                    {"grant_type": "client_credentials", "scope": scope},
                    HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"machine:secret-" + b"x" * 40).decode(),
                )
                self.assertEqual(response.status_code, 400, response.content)
                self.assertEqual(response.json()["error"], "invalid_scope")

    def test_a_code_client_without_rs256_gets_invalid_scope_at_the_authorization_endpoint(self):
        # No algorithm: every client from before OpenID Connect, and the admin's default
        # (DOT's signing raised ImproperlyConfigured at the token endpoint, a 500).
        # HS256 signs with the client secret in clear, and secrets here are hashed.
        for algorithm in (Application.NO_ALGORITHM, Application.HS256_ALGORITHM):
            self.app.algorithm = algorithm
            self.app.save()
            for scope in ("openid", "profile", "openid email read"):
                with self.subTest(algorithm=algorithm, scope=scope):
                    query = self.authorization_request(scope=scope)
                    response = self.client.get(f"/o/authorize/?{urlencode(query)}")
                    self.assertEqual(response.status_code, 302)
                    self.assertTrue(response["Location"].startswith(LOOPBACK_REDIRECT), response["Location"])
                    answer = parse_qs(urlsplit(response["Location"]).query)
                    self.assertEqual((answer["error"], answer["state"]), (["invalid_scope"], ["s1"]))

    def test_a_refresh_after_the_client_lost_its_algorithm_carries_no_id_token(self):
        tokens = self.tokens()
        self.assertIn("id_token", tokens)
        self.app.algorithm = Application.NO_ALGORITHM
        self.app.save()
        response = self.client.post(
            "/o/token/",
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": "web",
                "client_secret": SECRET,
            },
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertNotIn("id_token", response.json())


class UserinfoTests(CodeFlow, TestCase):
    """Userinfo refuses what the APIs refuse, with RFC 6750's challenge."""

    def assert_invalid_token(self, response):
        self.assertEqual(response.status_code, 401, response.content[:200])
        self.assertTrue(response["WWW-Authenticate"].startswith('Bearer error="invalid_token"'), response.headers)
        self.assertEqual(json.loads(response.content)["error"], "invalid_token")

    def test_a_token_issued_for_no_user_is_invalid_token(self):
        # A client-credentials token with openid, from before the scope was kept to
        # clients that sign users in: DOT read its user's claims, a 500.
        factories.access_token("machine-openid", factories.application("machine"), None, scope="openid")
        self.assert_invalid_token(self.client.get("/o/userinfo/", HTTP_AUTHORIZATION="Bearer machine-openid"))

    def test_a_deactivated_users_token_is_invalid_token_as_in_introspection(self):
        factories.access_token("alice-openid", self.app, self.user, scope="openid")
        self.assertEqual(self.client.get("/o/userinfo/", HTTP_AUTHORIZATION="Bearer alice-openid").status_code, 200)
        self.user.is_active = False
        self.user.save()
        self.assert_invalid_token(self.client.get("/o/userinfo/", HTTP_AUTHORIZATION="Bearer alice-openid"))

    def test_the_token_is_taken_from_the_authorization_header_only(self):
        # RFC 6750 §2.3, RFC 9700 §4.3.2, and the APIs' rule (introspection/bearer.py).
        factories.access_token("alice-openid", self.app, self.user, scope="openid")
        self.assert_invalid_token(self.client.get("/o/userinfo/?access_token=alice-openid"))
        self.assert_invalid_token(self.client.post("/o/userinfo/", {"access_token": "alice-openid"}))
        both = self.client.get("/o/userinfo/?access_token=alice-openid", HTTP_AUTHORIZATION="Bearer alice-openid")
        self.assert_invalid_token(both)
        self.assertEqual(self.client.post("/o/userinfo/", HTTP_AUTHORIZATION="Bearer alice-openid").status_code, 200)


class LogoutTests(TestCase):
    def setUp(self):
        self.user = factories.user()
        self.app = web_client()
        self.client.force_login(self.user)

    def logout(self, **query):
        page = self.client.get(f"/o/logout/?{urlencode(query)}")
        if page.status_code != 200 or "form" not in page.context:
            return page
        fields = {name: value for name, value in page.context["form"].initial.items() if value}
        return self.client.post("/o/logout/", {**fields, "allow": "Logout"})

    def signed_in(self) -> bool:
        return "_auth_user_id" in self.client.session

    def test_logout_to_a_registered_loopback_uri_over_http(self):
        response = self.logout(client_id="web", post_logout_redirect_uri=LOOPBACK_LOGOUT, state="x1")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(response["Location"], f"{LOOPBACK_LOGOUT}?state=x1")
        self.assertFalse(self.signed_in())

    def test_the_confirmation_page_lets_its_form_end_on_the_client(self):
        page = self.client.get(
            f"/o/logout/?{urlencode({'client_id': 'web', 'post_logout_redirect_uri': LOOPBACK_LOGOUT})}"
        )
        self.assertEqual(page.status_code, 200)
        self.assertIn("http://127.0.0.1:8003", page.headers.get("Content-Security-Policy", ""))
        self.assertIn("no-store", page.headers["Cache-Control"])

    def test_an_unregistered_or_non_loopback_http_uri_is_refused_and_the_user_stays_signed_in(self):
        self.app.post_logout_redirect_uris = f"{LOOPBACK_LOGOUT} http://app.example/"
        self.app.save()
        for uri in ("http://127.0.0.1:8003/elsewhere", "http://app.example/", "https://evil.example/"):
            with self.subTest(uri=uri):
                response = self.client.get(
                    f"/o/logout/?{urlencode({'client_id': 'web', 'post_logout_redirect_uri': uri})}"
                )
                self.assertEqual(response.status_code, 400)
                self.assertNotIn("Location", response)
                self.assertTrue(self.signed_in())

    def test_an_id_token_hint_that_is_no_id_token_is_a_400_not_a_500(self):
        # Header {} and payloads that are not a JSON object naming an audience.
        for hint in ("e30.bm90anNvbg.eHg", "e30.MQ.eHg", "e30.eyJhdWQiOiAxfQ.eHg", "e30.__8.eHg", "a.b.c"):
            with self.subTest(hint=hint):
                response = self.client.get(f"/o/logout/?{urlencode({'id_token_hint': hint})}")
                self.assertEqual(response.status_code, 400)
                self.assertTrue(self.signed_in())

    def test_a_post_logout_redirect_uri_that_does_not_parse_is_a_400_not_a_500(self):
        # DOT's urlparse raises ValueError ("Invalid IPv6 URL").
        for signed_in in (True, False):
            if not signed_in:
                self.client.logout()
            for uri in ("http://[::1", "https://[/x"):
                with self.subTest(uri=uri, signed_in=signed_in):
                    query = urlencode({"client_id": "web", "post_logout_redirect_uri": uri})
                    response = self.client.get(f"/o/logout/?{query}")
                    self.assertEqual(response.status_code, 400)
                    self.assertNotIn("Location", response)
                    self.assertEqual(self.signed_in(), signed_in)

    def test_an_unknown_client_is_a_400_not_a_500(self):
        response = self.client.get(
            f"/o/logout/?{urlencode({'client_id': 'nobody', 'post_logout_redirect_uri': LOOPBACK_LOGOUT})}"
        )
        self.assertEqual(response.status_code, 400)
        self.assertTrue(self.signed_in())

    def test_without_a_redirect_uri_the_user_lands_on_the_sign_in_page(self):
        response = self.logout()
        self.assertEqual(response.status_code, 302)
        self.assertEqual(response["Location"], "http://testserver/accounts/login/")
        self.assertFalse(self.signed_in())


class LogoutTokenTests(CodeFlow, TestCase):
    """Which tokens RP-initiated logout deletes: the confirming user's, never on an ID token alone."""

    def setUp(self):
        super().setUp()
        self.id_token = self.tokens()["id_token"]
        factories.access_token("other-app-token", factories.application("other-app"), self.user)
        factories.access_token("bob-token", self.app, factories.user("bob"), scope="openid")

    def remaining(self) -> set:
        return set(AccessToken.objects.values_list("user__username", "application__client_id"))

    def test_without_a_session_an_id_token_deletes_no_token(self):
        # Whoever holds the ID token (the client it was issued to, a log line, a
        # Referer) is asked nothing when nobody is signed in here (DOT's must_prompt).
        before = self.remaining()
        self.client.logout()
        query = urlencode({"id_token_hint": self.id_token, "post_logout_redirect_uri": LOOPBACK_LOGOUT})
        response = self.client.get(f"/o/logout/?{query}")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(response["Location"], LOOPBACK_LOGOUT)
        self.assertEqual(self.remaining(), before)
        self.assertEqual(len(before), 3)

    def test_a_confirmed_logout_deletes_the_signed_in_users_tokens_at_every_app(self):
        query = urlencode({"id_token_hint": self.id_token, "post_logout_redirect_uri": LOOPBACK_LOGOUT})
        page = self.client.get(f"/o/logout/?{query}")
        self.assertEqual(page.status_code, 200)
        fields = {name: value for name, value in page.context["form"].initial.items() if value}
        response = self.client.post("/o/logout/", {**fields, "allow": "Logout"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.remaining(), {("bob", "web")})

    def test_a_confirmed_logout_with_another_users_id_token_deletes_the_confirming_users_tokens(self):
        self.client.force_login(get_user_model().objects.get(username="bob"))
        page = self.client.get(f"/o/logout/?{urlencode({'id_token_hint': self.id_token})}")
        fields = {name: value for name, value in page.context["form"].initial.items() if value}
        self.client.post("/o/logout/", {**fields, "allow": "Logout"})
        self.assertEqual(self.remaining(), {("alice", "web"), ("alice", "other-app")})


DEMO_WEB = {
    "DEMO_WEB_CLIENT_ID": "demo-web",
    "DEMO_WEB_CLIENT_SECRET": "demo-web-secret-1",
    "DEMO_WEB_REDIRECT_URI": LOOPBACK_REDIRECT,
    "DEMO_WEB_POST_LOGOUT_REDIRECT_URI": LOOPBACK_LOGOUT,
}


def seed(**environment) -> str:
    out = StringIO()
    with mock.patch.dict(os.environ, environment):
        call_command("seed", stdout=out)
    return out.getvalue()


class DemoWebClientSeedTests(TestCase):
    def test_the_demo_web_client_is_seeded_once_as_a_confidential_rs256_code_client(self):
        first = seed(**DEMO_WEB)
        second = seed(**DEMO_WEB)

        app = Application.objects.get(client_id="demo-web")
        self.assertIn("demo web OpenID Connect client demo-web: created", first)
        self.assertIn("demo web OpenID Connect client demo-web: unchanged", second)
        self.assertEqual(app.client_type, Application.CLIENT_CONFIDENTIAL)
        self.assertEqual(app.authorization_grant_type, Application.GRANT_AUTHORIZATION_CODE)
        self.assertEqual(app.algorithm, Application.RS256_ALGORITHM)
        self.assertEqual((app.redirect_uris, app.post_logout_redirect_uris), (LOOPBACK_REDIRECT, LOOPBACK_LOGOUT))
        self.assertNotEqual(app.client_secret, "demo-web-secret-1")  # hashed
        self.assertNotIn("demo-web-secret-1", first + second)

    def test_skipped_without_a_client_id(self):
        output = seed(DEMO_WEB_CLIENT_ID="")
        self.assertIn("DEMO_WEB_CLIENT_ID: not set, skipped", output)
        self.assertFalse(Application.objects.filter(algorithm=Application.RS256_ALGORITHM).exists())

    def test_a_client_id_without_its_secret_is_an_error_not_a_client_without_one(self):
        with self.assertRaisesMessage(CommandError, "DEMO_WEB_CLIENT_SECRET"):
            seed(**{**DEMO_WEB, "DEMO_WEB_CLIENT_SECRET": ""})
        self.assertFalse(Application.objects.filter(client_id="demo-web").exists())

    def test_an_http_uri_that_is_not_loopback_is_refused(self):
        with self.assertRaisesMessage(CommandError, "DEMO_WEB_REDIRECT_URI=http://app.example/cb"):
            seed(**{**DEMO_WEB, "DEMO_WEB_REDIRECT_URI": "http://app.example/cb"})
        self.assertFalse(Application.objects.filter(client_id="demo-web").exists())
