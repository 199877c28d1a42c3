import base64

from django.test import TestCase
from django.urls import reverse

from . import factories

URL = reverse("oauth2_provider:introspect")


def basic(client_id, secret):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


class IntrospectionTests(TestCase):
    def setUp(self):
        self.rs = factories.application("rs", secret="rs-secret", resource_server=True)
        self.other = factories.application("other", secret="other-secret")
        self.user = factories.user()
        self.token = factories.access_token("user-token", self.other, user=self.user, scope="read write")
        self.refresh = factories.refresh_token("refresh-value", self.other, self.user, self.token)

    def introspect(self, **data):
        return self.client.post(URL, data, **basic("rs", "rs-secret"))

    def test_active_token_has_every_claim(self):
        body = self.introspect(token="user-token").json()

        self.assertEqual(body["active"], True)
        self.assertEqual(body["scope"], "read write")
        self.assertEqual(body["client_id"], "other")
        self.assertEqual(body["username"], "alice")
        self.assertEqual(body["sub"], str(self.user.pk))
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["iss"], "http://testserver")
        self.assertLess(body["iat"], body["exp"])
        self.assertNotIn("aud", body)

    def test_client_credentials_token_is_its_clients_subject(self):
        factories.access_token("machine-token", self.other)

        body = self.introspect(token="machine-token").json()

        self.assertEqual(body["sub"], "other")
        self.assertNotIn("username", body)

    def test_unknown_and_expired_tokens_are_inactive_and_nothing_else(self):
        factories.access_token("expired", self.other, expires_in=-1)

        for value in ("unknown", "expired"):
            response = self.introspect(token=value)
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.json(), {"active": False})

    def test_refresh_token_is_found_with_and_without_the_right_hint(self):
        for hint in ("refresh_token", "access_token", None):
            data = {"token": "refresh-value"} | ({"token_type_hint": hint} if hint else {})
            body = self.introspect(**data).json()
            self.assertEqual(body["active"], True, hint)
            self.assertEqual(body["token_type"], "refresh_token")
            self.assertEqual(body["scope"], "read write")

    def test_access_token_is_found_with_a_wrong_hint(self):
        body = self.introspect(token="user-token", token_type_hint="refresh_token").json()

        self.assertEqual(body["token_type"], "Bearer")

    def test_revoked_refresh_token_is_inactive(self):
        self.refresh.revoke()

        self.assertEqual(self.introspect(token="refresh-value").json(), {"active": False})

    def test_missing_token_parameter_is_invalid_request(self):
        response = self.introspect()

        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "invalid_request")

    def test_get_is_not_allowed(self):
        response = self.client.get(URL, {"token": "user-token"}, **basic("rs", "rs-secret"))

        self.assertEqual(response.status_code, 405)

    def test_client_that_is_no_resource_server_gets_401_and_no_token_data(self):
        response = self.client.post(URL, {"token": "user-token"}, **basic("other", "other-secret"))

        self.assertEqual(response.status_code, 401)
        self.assertTrue(response["WWW-Authenticate"].startswith('Basic realm="introspection"'))
        self.assertNotIn("active", response.json())

    def test_wrong_secret_and_no_credentials_get_401(self):
        for headers in (basic("rs", "wrong"), {}):
            response = self.client.post(URL, {"token": "user-token"}, **headers)
            self.assertEqual(response.status_code, 401)

    def test_credentials_in_the_body_are_accepted(self):
        response = self.client.post(URL, {"token": "user-token", "client_id": "rs", "client_secret": "rs-secret"})

        self.assertEqual(response.json()["active"], True)

    def test_bearer_token_needs_the_introspection_scope(self):
        factories.access_token("introspector", self.rs, scope="introspection")

        allowed = self.client.post(URL, {"token": "user-token"}, HTTP_AUTHORIZATION="Bearer introspector")
        refused = self.client.post(URL, {"token": "user-token"}, HTTP_AUTHORIZATION="Bearer user-token")

        self.assertEqual(allowed.json()["active"], True)
        self.assertEqual(refused.status_code, 401)
        self.assertIn('error="invalid_token"', refused["WWW-Authenticate"])

    def test_answers_are_not_cached(self):
        response = self.introspect(token="user-token")

        self.assertIn("no-store", response["Cache-Control"])
