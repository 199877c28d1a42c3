import base64

from django.test import TestCase
from django.urls import reverse

from authorization.models import ResourceServer, Subject

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
        self.assertEqual(body["sub"], str(self.user.subject.value))
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["iss"], "http://testserver")
        self.assertLess(body["iat"], body["exp"])
        self.assertNotIn("aud", body)

    def test_client_credentials_token_is_its_clients_subject(self):
        factories.access_token("machine-token", self.other)

        body = self.introspect(token="machine-token").json()

        self.assertEqual(body["sub"], str(self.other.subject.value))
        self.assertNotIn("username", body)

    def test_a_client_named_like_a_users_primary_key_has_a_subject_of_its_own(self):
        namesake = factories.application(str(self.user.pk))
        factories.access_token("namesake-token", namesake)

        user_sub = self.introspect(token="user-token").json()["sub"]
        client_sub = self.introspect(token="namesake-token").json()["sub"]

        self.assertNotEqual(user_sub, client_sub)
        self.assertNotIn(client_sub, (str(self.user.pk), namesake.client_id))

    def test_subject_is_read_with_the_token(self):
        self.introspect(token="user-token")  # warm up: the session and the client's lookups

        # The caller's failure count, the caller, its registration, the token with its user, client and subjects.
        with self.assertNumQueries(4):
            body = self.introspect(token="user-token").json()

        self.assertEqual(body["sub"], str(self.user.subject.value))

    def test_user_without_a_subject_gets_one_on_first_use_and_keeps_it(self):
        Subject.objects.filter(user=self.user).delete()

        first = self.introspect(token="user-token").json()["sub"]
        second = self.introspect(token="user-token").json()["sub"]

        self.assertEqual(first, second)
        self.assertEqual(first, str(Subject.objects.get(user=self.user).value))

    def test_deactivated_users_tokens_are_inactive(self):
        self.user.is_active = False
        self.user.save()

        for value in ("user-token", "refresh-value"):
            self.assertEqual(self.introspect(token=value).json(), {"active": False})

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

    def test_disabled_or_deregistered_resource_server_may_not_introspect(self):
        factories.access_token("introspector", self.rs, scope="introspection")
        bearer = {"HTTP_AUTHORIZATION": "Bearer introspector"}

        ResourceServer.objects.filter(application=self.rs).update(enabled=False)
        disabled = [self.introspect(token="user-token"), self.client.post(URL, {"token": "user-token"}, **bearer)]
        ResourceServer.objects.filter(application=self.rs).delete()
        deleted = [self.introspect(token="user-token"), self.client.post(URL, {"token": "user-token"}, **bearer)]

        for response in disabled + deleted:
            self.assertEqual(response.status_code, 401)
            self.assertNotIn("active", response.json())

    def test_auth_schemes_are_case_insensitive(self):
        factories.access_token("introspector", self.rs, scope="introspection")
        credentials = basic("rs", "rs-secret")["HTTP_AUTHORIZATION"].split(" ", 1)[1]

        for authorization in ("bearer introspector", "BEARER introspector", f"basic {credentials}"):
            response = self.client.post(URL, {"token": "user-token"}, HTTP_AUTHORIZATION=authorization)
            self.assertEqual(response.json()["active"], True, authorization)

    def test_answers_are_not_cached(self):
        response = self.introspect(token="user-token")

        self.assertIn("no-store", response["Cache-Control"])
