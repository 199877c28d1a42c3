import base64
import hashlib

from django.test import TestCase
from django.urls import reverse

from . import factories

TOKEN_URL = reverse("oauth2_provider:token")
AUTHORIZE_URL = reverse("oauth2_provider:authorize")
REVOKE_URL = reverse("oauth2_provider:revoke-token")
INTROSPECT_URL = reverse("oauth2_provider:introspect")
REDIRECT_URI = "https://client.example/cb"


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class BadInputTests(TestCase):
    """Input DOT 3.4.1 answers with a 500 gets a 4xx."""

    def setUp(self):
        factories.application("machine", secret="machine-secret")
        factories.application("rs", secret="rs-secret", resource_server=True)
        self.user = factories.user()
        factories.public_client(redirect_uri=REDIRECT_URI)

    def test_query_strings_oauthlib_cannot_parse(self):
        for query in ("a=%ZZ", "x=[1]", "x=%", "x={}|^`"):
            introspected = self.client.post(
                f"{INTROSPECT_URL}?{query}", {"token": "x"}, HTTP_AUTHORIZATION=basic("rs", "rs-secret")
            )
            token = self.client.post(
                f"{TOKEN_URL}?{query}",
                {"grant_type": "client_credentials"},
                HTTP_AUTHORIZATION=basic("machine", "machine-secret"),
            )
            revoked = self.client.post(
                f"{REVOKE_URL}?{query}", {"token": "x"}, HTTP_AUTHORIZATION=basic("machine", "machine-secret")
            )
            self.assertEqual(introspected.json(), {"active": False}, query)
            for response in (token, revoked):
                self.assertEqual(response.status_code, 400, query)
                self.assertEqual(response.json()["error"], "invalid_request")

    def test_nul_in_a_parameter_is_invalid_request(self):
        for url, data in (
            (TOKEN_URL, {"grant_type": "client_credentials", "client_id": "\x00", "client_secret": "x"}),
            (TOKEN_URL, {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "\x00"}),
            (f"{AUTHORIZE_URL}?client_id=%00", {}),
            (REVOKE_URL, {"token": "x", "client_id": "public\x00"}),
            (INTROSPECT_URL, {"token": "x", "client_id": "rs\x00", "client_secret": "x"}),
        ):
            response = self.client.post(url, data)
            self.assertEqual(response.status_code, 400, url)
            self.assertEqual(response.json()["error"], "invalid_request")

    def test_device_grant_without_device_code_is_invalid_request(self):
        response = self.client.post(TOKEN_URL, {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"})

        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "invalid_request")

    def test_resource_urlsplit_cannot_parse_is_invalid_target(self):
        response = self.client.post(
            TOKEN_URL,
            {"grant_type": "client_credentials", "resource": "https://[::1/"},
            HTTP_AUTHORIZATION=basic("machine", "machine-secret"),
        )

        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "invalid_target")

    def authorization_request(self, **extra):
        challenge = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 50).digest()).rstrip(b"=").decode()
        return {
            "response_type": "code",
            "client_id": "public",
            "redirect_uri": REDIRECT_URI,
            "scope": "read",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }

    def test_authorization_request_with_a_resource_urlsplit_cannot_parse_redirects_invalid_target(self):
        self.client.force_login(self.user)

        response = self.client.get(AUTHORIZE_URL, self.authorization_request(resource="https://[::1/"))

        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(REDIRECT_URI))
        self.assertIn("error=invalid_target", response["Location"])
        self.assertIn("state=s", response["Location"])

    def test_consent_form_with_a_changed_client_or_resource_is_400(self):
        self.client.force_login(self.user)

        for changed in ({"client_id": "no-such-client"}, {"resource": "https://[::1/"}):
            response = self.client.post(AUTHORIZE_URL, self.authorization_request(allow="Authorize", **changed))
            self.assertEqual(response.status_code, 400, changed)
