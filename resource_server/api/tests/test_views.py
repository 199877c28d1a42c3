import time
from unittest import mock

from django.core.cache import caches
from django.test import TestCase

from api.models import Note

from introspection.errors import IntrospectionUnavailable


def claims(scope, sub="1", username="alice"):
    return {"active": True, "scope": scope, "client_id": "app", "sub": sub, "username": username,
            "exp": int(time.time()) + 600}


class ApiTests(TestCase):
    def setUp(self):
        caches["default"].clear()
        patcher = mock.patch("introspection.client.introspect")
        self.introspect = patcher.start()
        self.addCleanup(patcher.stop)

    def get(self, path, token="tok", **extra):
        return self.client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}", **extra)

    def test_me_answers_who_the_token_is_for(self):
        self.introspect.return_value = claims("read write")

        response = self.get("/api/me/")

        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.json(), {"username": "alice", "client_id": "app", "sub": "1", "scope": "read write"}
        )

    def test_missing_scope_is_403_with_the_scope_in_the_challenge(self):
        self.introspect.return_value = claims("write")

        response = self.get("/api/me/")

        self.assertEqual(response.status_code, 403)
        self.assertIn('error="insufficient_scope"', response["WWW-Authenticate"])
        self.assertIn('scope="read"', response["WWW-Authenticate"])

    def test_as_outage_is_503_with_retry_after(self):
        self.introspect.side_effect = IntrospectionUnavailable()

        response = self.get("/api/me/")

        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Retry-After"], "5")
        self.assertEqual(response.json()["error"], "temporarily_unavailable")

    def test_notes_are_created_for_and_listed_to_their_owner(self):
        self.introspect.return_value = claims("read write", sub="42")
        created = self.client.post(
            "/api/notes/", {"text": "hello"}, content_type="application/json", HTTP_AUTHORIZATION="Bearer t1"
        )
        self.introspect.return_value = claims("read", sub="43")

        others = self.get("/api/notes/", token="t2")

        self.assertEqual(created.status_code, 201)
        self.assertEqual(Note.objects.get().owner, "42")
        self.assertEqual(others.json(), [])

    def test_cached_token_touches_no_database(self):
        self.introspect.return_value = claims("read")
        self.get("/api/me/")

        with self.assertNumQueries(0):
            response = self.get("/api/me/")

        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.introspect.call_count, 1)
