import base64

from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import RequestFactory, SimpleTestCase, TestCase, override_settings
from django.urls import reverse

from authorization.guessing import client_address

from . import factories

TOKEN_URL = reverse("oauth2_provider:token")
INTROSPECT_URL = reverse("oauth2_provider:introspect")
LOGIN_URL = reverse("login")


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class ClientAddressTests(SimpleTestCase):
    def address(self, forwarded=None, remote="10.0.0.9"):
        headers = {"REMOTE_ADDR": remote} | ({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {})
        return client_address(RequestFactory().get("/", **headers))

    def test_without_trusted_proxies_the_header_is_ignored(self):
        self.assertEqual(self.address("203.0.113.7"), "10.0.0.9")

    @override_settings(AS_TRUSTED_PROXY_COUNT=1)
    def test_behind_one_proxy_the_client_is_the_last_entry(self):
        self.assertEqual(self.address("198.51.100.1, 203.0.113.7"), "203.0.113.7")
        self.assertEqual(self.address("203.0.113.7"), "203.0.113.7")

    @override_settings(AS_TRUSTED_PROXY_COUNT=2)
    def test_behind_two_proxies_the_entry_the_outer_proxy_added(self):
        self.assertEqual(self.address("198.51.100.1, 203.0.113.7, 10.0.0.2"), "203.0.113.7")

    @override_settings(AS_TRUSTED_PROXY_COUNT=1)
    def test_a_missing_short_or_garbled_header_falls_back_to_the_peer(self):
        for forwarded in (None, "", "not-an-address", "\u00ff", "[::1]:80"):
            self.assertEqual(self.address(forwarded), "10.0.0.9", forwarded)

    def test_a_peer_that_is_no_address_is_none(self):
        self.assertIsNone(self.address(remote=""))


@override_settings(AXES_FAILURE_LIMIT=3)
class ClientSecretGuessingTests(TestCase):
    def setUp(self):
        factories.application("machine", secret="machine-secret")
        factories.application("rs", secret="rs-secret", resource_server=True)

    def token(self, secret, address="192.0.2.1"):
        return self.client.post(
            TOKEN_URL,
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION=basic("machine", secret),
            REMOTE_ADDR=address,
        )

    def test_guessing_locks_out_that_client_from_that_address_only(self):
        statuses = [self.token("wrong").status_code for _ in range(3)]
        locked = self.token("machine-secret")

        self.assertEqual(statuses, [401, 401, 429])
        self.assertEqual(locked.status_code, 429)
        self.assertEqual(locked["Retry-After"], "900")
        self.assertEqual(locked.json()["error"], "invalid_client")
        self.assertEqual(self.token("machine-secret", address="192.0.2.2").status_code, 200)

    def test_introspection_answers_a_lockout_with_429(self):
        for _ in range(3):
            self.client.post(
                INTROSPECT_URL, {"token": "x"}, HTTP_AUTHORIZATION=basic("rs", "wrong"), REMOTE_ADDR="192.0.2.1"
            )

        locked = self.client.post(
            INTROSPECT_URL, {"token": "x"}, HTTP_AUTHORIZATION=basic("rs", "rs-secret"), REMOTE_ADDR="192.0.2.1"
        )
        elsewhere = self.client.post(
            INTROSPECT_URL, {"token": "x"}, HTTP_AUTHORIZATION=basic("rs", "rs-secret"), REMOTE_ADDR="192.0.2.2"
        )

        self.assertEqual(locked.status_code, 429)
        self.assertEqual(locked["Retry-After"], "900")
        self.assertEqual(locked.json()["error"], "invalid_client")
        self.assertEqual(elsewhere.json(), {"active": False})

    def test_a_users_failures_do_not_count_for_a_client_of_the_same_name(self):
        get_user_model().objects.create_user("machine", password="a long user password")
        for _ in range(3):
            self.client.post(LOGIN_URL, {"username": "machine", "password": "wrong"}, REMOTE_ADDR="192.0.2.1")

        self.assertEqual(self.token("machine-secret").status_code, 200)


@override_settings(AXES_FAILURE_LIMIT=3)
class SignInGuessingTests(TestCase):
    def setUp(self):
        get_user_model().objects.create_user("alice", password="a long user password")

    def sign_in(self, password, address="192.0.2.1"):
        return self.client.post(LOGIN_URL, {"username": "alice", "password": password}, REMOTE_ADDR=address)

    def test_a_username_longer_than_axes_stores_is_recorded_cut_short(self):
        # Django's AuthenticationForm does not limit the length; PostgreSQL refused it in axes' column.
        response = self.client.post(LOGIN_URL, {"username": "x" * 300, "password": "wrong"}, REMOTE_ADDR="192.0.2.1")

        self.assertEqual(response.status_code, 200)
        self.assertEqual(AccessAttempt.objects.get().username, "x" * 255)

    def test_wrong_passwords_lock_out_that_user_from_that_address_with_a_message(self):
        statuses = [self.sign_in("wrong").status_code for _ in range(3)]
        locked = self.sign_in("a long user password")

        self.assertEqual(statuses, [200, 200, 429])
        self.assertEqual(locked.status_code, 429)
        self.assertEqual(locked["Retry-After"], "900")
        self.assertContains(locked, "Too many failed sign-in attempts", status_code=429)
        self.assertEqual(self.sign_in("a long user password", address="192.0.2.2").status_code, 302)
