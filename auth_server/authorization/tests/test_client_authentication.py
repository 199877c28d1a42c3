import base64

from django.contrib.auth.hashers import make_password
from django.test import TestCase
from django.urls import reverse

from . import factories
from .factories import Application

TOKEN_URL = reverse("oauth2_provider:token")


def basic(client_id, secret, scheme="Basic"):
    return f"{scheme} " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class ClientAuthenticationTests(TestCase):
    def setUp(self):
        self.app = factories.application("machine", secret="machine-secret")
        # The API that owns `read`, the scope a request without `scope` gets.
        factories.application("notes-api", resource_server=True)

    def token(self, authorization, **data):
        return self.client.post(
            TOKEN_URL, {"grant_type": "client_credentials", **data}, HTTP_AUTHORIZATION=authorization
        )

    def test_basic_scheme_is_case_insensitive(self):
        for scheme in ("Basic", "basic", "BASIC"):
            response = self.token(basic("machine", "machine-secret", scheme))
            self.assertEqual(response.status_code, 200, scheme)

    def test_credentials_that_are_no_base64_text_are_refused_with_401(self):
        for credentials in ("Basic \u00ff\u00fe", "Basic %%%", basic("\x00", "x"), basic("machine\x00", "x")):
            response = self.token(credentials)
            self.assertEqual(response.status_code, 401, credentials)
            self.assertEqual(response.json()["error"], "invalid_client")

    def test_pbkdf2_hashed_secret_moves_to_the_client_secret_hasher_on_first_use(self):
        Application.objects.filter(pk=self.app.pk).update(
            client_secret=make_password("machine-secret", hasher="pbkdf2_sha256")
        )

        first = self.token(basic("machine", "machine-secret"))
        second = self.token(basic("machine", "machine-secret"))

        self.assertEqual((first.status_code, second.status_code), (200, 200))
        self.app.refresh_from_db()
        self.assertTrue(self.app.client_secret.startswith("client_secret_sha256$"))

    def test_wrong_secret_leaves_a_pbkdf2_hash_alone(self):
        encoded = make_password("machine-secret", hasher="pbkdf2_sha256")
        Application.objects.filter(pk=self.app.pk).update(client_secret=encoded)

        response = self.token(basic("machine", "wrong"))

        self.assertEqual(response.status_code, 401)
        self.app.refresh_from_db()
        self.assertEqual(self.app.client_secret, encoded)

    def test_secret_in_the_body_is_rehashed_too(self):
        Application.objects.filter(pk=self.app.pk).update(
            client_secret=make_password("machine-secret", hasher="pbkdf2_sha256")
        )

        response = self.client.post(
            TOKEN_URL,
            {"grant_type": "client_credentials", "client_id": "machine", "client_secret": "machine-secret"},
        )

        self.assertEqual(response.status_code, 200)
        self.app.refresh_from_db()
        self.assertTrue(self.app.client_secret.startswith("client_secret_sha256$"))
