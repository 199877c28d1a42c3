import base64
import uuid
from contextlib import contextmanager
from unittest import mock

from django.contrib.auth import get_user_model
from django.test import SimpleTestCase, TestCase, override_settings
from django.urls import reverse
from oauth2_provider.models import get_access_token_model, get_application_model, get_refresh_token_model
from prometheus_client import REGISTRY

from authorization import registration, set_push

from . import factories

TOKEN_URL = reverse("oauth2_provider:token")
REVOKE_URL = reverse("oauth2_provider:revoke-token")
INTROSPECT_URL = reverse("oauth2_provider:introspect")
LOGIN_URL = reverse("login")

Application = get_application_model()
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def value(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class MetricsTestCase(SimpleTestCase):
    @contextmanager
    def counts(self, name, expected: dict):
        """Asserts that the series ``name`` moved by ``expected`` ({labels as a tuple of pairs: delta})."""
        before = {labels: value(name, **dict(labels)) for labels in expected}
        yield
        moved = {labels: value(name, **dict(labels)) - before[labels] for labels in expected}
        self.assertEqual(moved, expected, name)


class TokenEndpointMetricsTests(MetricsTestCase, TestCase):
    def setUp(self):
        factories.application("machine", secret="machine-secret")
        factories.application("rs", resource_server=True)  # owns `read`, the default scope
        self.user = factories.user()
        self.web = Application.objects.create(
            client_id="web",
            client_secret="web-secret",
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris="https://web.example/cb",
        )

    def client_credentials(self, secret):
        return self.client.post(
            TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic("machine", secret)
        )

    def refresh(self, value):
        return self.client.post(
            TOKEN_URL,
            {"grant_type": "refresh_token", "refresh_token": value},
            HTTP_AUTHORIZATION=basic("web", "web-secret"),
        )

    def test_tokens_issued_are_counted_by_grant_type(self):
        access = factories.access_token("access-1", self.web, user=self.user)
        factories.refresh_token("refresh-1", self.web, self.user, access)
        issued = "authorization_server_tokens_issued_total"

        with self.counts(issued, {(("grant_type", "client_credentials"),): 2, (("grant_type", "refresh_token"),): 1}):
            self.assertEqual(self.client_credentials("machine-secret").status_code, 200)
            self.assertEqual(self.client_credentials("machine-secret").status_code, 200)
            self.assertEqual(self.refresh("refresh-1").status_code, 200)

    def test_a_refused_token_request_issues_nothing_and_a_wrong_secret_is_a_failed_authentication(self):
        with (
            self.counts("authorization_server_tokens_issued_total", {(("grant_type", "client_credentials"),): 0}),
            self.counts("authorization_server_client_authentication_failures_total", {(): 1}),
            self.counts("authorization_server_sign_in_failures_total", {(): 0}),
        ):
            self.assertEqual(self.client_credentials("wrong").status_code, 401)

    def test_revocations_count_the_token_the_client_revoked_and_nothing_for_an_unknown_one(self):
        factories.access_token("access-1", self.web, user=self.user)
        access = factories.access_token("access-2", self.web, user=self.user)
        factories.refresh_token("refresh-2", self.web, self.user, access)
        factories.access_token("someone-elses", factories.application("other"))
        revocations = "authorization_server_revocations_total"
        expected = {
            (("token_type", "access_token"), ("by", "client")): 1,
            (("token_type", "refresh_token"), ("by", "client")): 1,
            (("token_type", "access_token"), ("by", "issuer")): 0,
        }

        with self.counts(revocations, expected):
            for token in ("access-1", "refresh-2", "unknown", "someone-elses", "refresh-2"):
                response = self.client.post(REVOKE_URL, {"token": token}, HTTP_AUTHORIZATION=basic("web", "web-secret"))
                self.assertEqual(response.status_code, 200)
        self.assertTrue(AccessToken.objects.filter(application__client_id="other").exists())

    def test_a_replayed_refresh_token_revokes_its_family_as_the_issuer(self):
        access = factories.access_token("access-1", self.web, user=self.user)
        factories.refresh_token("refresh-1", self.web, self.user, access)
        RefreshToken.objects.update(token_family=uuid.uuid4())
        self.assertEqual(self.refresh("refresh-1").status_code, 200)  # rotated: refresh-1 revoked, a new one
        revocations = "authorization_server_revocations_total"

        with self.counts(revocations, {(("token_type", "refresh_token"), ("by", "issuer")): 1}):
            self.assertEqual(self.refresh("refresh-1").status_code, 400)  # RFC 9700 §4.14.2
        with self.counts(revocations, {(("token_type", "refresh_token"), ("by", "issuer")): 0}):
            self.assertEqual(self.refresh("never-issued").status_code, 400)

    def test_a_new_client_secret_revokes_the_clients_tokens_as_the_issuer(self):
        access = factories.access_token("access-1", self.web, user=self.user)
        factories.refresh_token("refresh-1", self.web, self.user, access)
        factories.access_token("access-2", self.web)
        expected = {
            (("token_type", "access_token"), ("by", "issuer")): 2,
            (("token_type", "refresh_token"), ("by", "issuer")): 1,
        }

        with self.counts("authorization_server_revocations_total", expected):
            registration.save_client("web", "a-new-secret-" + "y" * 40)


class IntrospectionMetricsTests(MetricsTestCase, TestCase):
    def setUp(self):
        factories.application("rs", secret="rs-secret", resource_server=True)
        factories.application("machine", secret="machine-secret")
        factories.access_token("live", factories.application("other"))

    def introspect(self, credentials=("rs", "rs-secret"), **data):
        return self.client.post(INTROSPECT_URL, data, HTTP_AUTHORIZATION=basic(*credentials))

    def test_requests_are_counted_by_caller_and_outcome(self):
        expected = {
            (("caller", "rs"), ("outcome", "active")): 2,
            (("caller", "rs"), ("outcome", "inactive")): 1,
            (("caller", "rs"), ("outcome", "refused")): 1,
            (("caller", "-"), ("outcome", "refused")): 2,
        }

        with (
            self.counts("authorization_server_introspection_requests_total", expected),
            self.counts("authorization_server_client_authentication_failures_total", {(): 1}),
        ):
            self.assertEqual(self.introspect(token="live").json()["active"], True)
            self.assertEqual(self.introspect(token="unknown").json(), {"active": False})
            self.assertEqual(self.introspect(token="live", HTTP_ACCEPT="*/*").status_code, 200)  # not a JWT
            self.assertEqual(self.introspect().status_code, 400)  # no token
            self.assertEqual(self.introspect(("rs", "wrong"), token="live").status_code, 401)
            self.assertEqual(self.introspect(("machine", "machine-secret"), token="live").status_code, 401)
        self.assertEqual(value("authorization_server_introspection_requests_total", caller="machine"), 0.0)


class SecurityEventDeliveryMetricsTests(MetricsTestCase):
    """One notice to an API answering ``statuses`` in turn: what is counted."""

    def transmit(self, *statuses):
        session = mock.Mock()
        session.post.side_effect = [mock.Mock(status_code=status, json=dict) for status in statuses]
        delivery = set_push.Delivery("https://api.example/events", "https://api.example/", "jti", "event", lambda: "a")
        with mock.patch.object(set_push, "BACKOFF", (0,) * 5), self.assertLogs("authorization.set_push"):
            set_push.transmit(session, delivery)

    def outcomes(self, delivered=0, retried=0, given_up=0):
        expected = {"delivered": delivered, "retried": retried, "given_up": given_up}
        return self.counts(
            "authorization_server_security_event_deliveries_total",
            {(("outcome", outcome),): count for outcome, count in expected.items()},
        )

    def test_an_accepted_notice_is_delivered(self):
        with self.outcomes(delivered=1):
            self.transmit(202)

    def test_a_notice_accepted_on_its_third_attempt_is_retried_twice_then_delivered(self):
        with self.outcomes(delivered=1, retried=2):
            self.transmit(503, 429, 202)

    def test_a_notice_failing_every_attempt_is_retried_then_given_up(self):
        with self.outcomes(retried=5, given_up=1):
            self.transmit(*[503] * 6)

    def test_a_refused_notice_is_given_up_at_once(self):
        with self.outcomes(given_up=1):
            self.transmit(400)


@override_settings(AXES_FAILURE_LIMIT=3)
class GuessingMetricsTests(MetricsTestCase, TestCase):
    def setUp(self):
        get_user_model().objects.create_user("alice", password="a long user password")
        factories.application("machine", secret="machine-secret")

    def sign_in(self, password, username="alice", address="192.0.2.1"):
        return self.client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address)

    def test_wrong_passwords_are_failures_and_reaching_the_limit_begins_one_lockout(self):
        with (
            self.counts("authorization_server_sign_in_failures_total", {(): 5}),
            self.counts("authorization_server_sign_in_lockouts_total", {(): 1}),
        ):
            statuses = [self.sign_in("wrong").status_code for _ in range(4)]
            self.assertEqual(self.sign_in("a long user password").status_code, 429)  # still locked out
        self.assertEqual(statuses, [200, 200, 429, 429])

    def test_lockouts_are_counted_per_user_and_address(self):
        with self.counts("authorization_server_sign_in_lockouts_total", {(): 2}):
            for address in ("192.0.2.1", "192.0.2.2"):
                for _ in range(3):
                    self.sign_in("wrong", address=address)

    def test_a_clients_wrong_secrets_are_no_sign_in_failures_nor_lockouts(self):
        with (
            self.counts("authorization_server_sign_in_failures_total", {(): 0}),
            self.counts("authorization_server_sign_in_lockouts_total", {(): 0}),
            self.counts("authorization_server_client_authentication_failures_total", {(): 3}),
        ):
            for _ in range(3):
                self.client.post(
                    TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic("machine", "wrong")
                )
