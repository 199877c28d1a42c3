import base64
import hashlib
from datetime import timedelta

from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_grant_model

from . import factories

TOKEN_URL = reverse("oauth2_provider:token")
VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


class DeactivatedUserTests(TestCase):
    def setUp(self):
        self.user = factories.user()
        self.app = factories.public_client()
        access = factories.access_token("access", self.app, user=self.user)
        factories.refresh_token("refresh", self.app, self.user, access)
        get_grant_model().objects.create(
            application=self.app,
            user=self.user,
            code="code",
            expires=timezone.now() + timedelta(minutes=1),
            redirect_uri="https://client.example/cb",
            scope="read",
            code_challenge=CHALLENGE,
            code_challenge_method="S256",
        )

    def deactivate(self):
        self.user.is_active = False
        self.user.save()

    def refresh(self):
        return self.client.post(
            TOKEN_URL, {"grant_type": "refresh_token", "refresh_token": "refresh", "client_id": "public"}
        )

    def exchange_code(self):
        return self.client.post(
            TOKEN_URL,
            {
                "grant_type": "authorization_code",
                "code": "code",
                "client_id": "public",
                "redirect_uri": "https://client.example/cb",
                "code_verifier": VERIFIER,
            },
        )

    def test_refresh_token_of_a_deactivated_user_is_invalid_grant(self):
        self.deactivate()

        response = self.refresh()

        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "invalid_grant")

    def test_refresh_token_of_an_active_user_works(self):
        self.assertEqual(self.refresh().status_code, 200)

    def test_code_of_an_active_user_is_exchanged(self):
        self.assertEqual(self.exchange_code().status_code, 200)

    def test_code_issued_before_deactivation_cannot_be_exchanged(self):
        self.deactivate()

        response = self.exchange_code()

        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "invalid_grant")
