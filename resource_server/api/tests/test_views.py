import time
from unittest import mock

from django.core.cache import caches
from django.test import TestCase, override_settings

from api.models import Note
from introspection import cache
from introspection.errors import IntrospectionUnavailable


def claims(scope, sub="1", username="alice"):
    return {
        "active": True,
        "scope": scope,
        "client_id": "app",
        "sub": sub,
        "username": username,
        "exp": int(time.time()) + 600,
    }


class ApiTests(TestCase):
    def setUp(self):
        caches["default"].clear()
        cache.local.clear()
        patcher = mock.patch("introspection.client.introspect")
        self.introspect = patcher.start()
        self.addCleanup(patcher.stop)

    def get(self, path, **extra):
        return self.client.get(path, HTTP_AUTHORIZATION="Bearer tok", **extra)

    def test_me_answers_who_the_token_is_for(self):
        self.introspect.return_value = claims("read write")

        response = self.get("/api/me/")

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"username": "alice", "client_id": "app", "sub": "1", "scope": "read write"})

    def test_missing_scope_is_403_with_the_scope_in_the_challenge(self):
        self.introspect.return_value = claims("write")

        response = self.get("/api/me/")

        self.assertEqual(response.status_code, 403)
        self.assertIn('error="insufficient_scope"', response["WWW-Authenticate"])
        self.assertIn('scope="read"', response["WWW-Authenticate"])

    @override_settings(RESOURCE_SERVER_SCOPE_PREFIX="team:")
    def test_a_scope_prefix_qualifies_the_rules_of_every_kind_of_view(self):
        self.introspect.return_value = claims("read notes")
        plain = [self.get(path) for path in ("/api/me/", "/api/notes/", "/api/notes/count/")]
        cache.forget("tok")
        self.introspect.return_value = claims("team:read")
        qualified = [self.get(path) for path in ("/api/me/", "/api/notes/", "/api/notes/count/")]

        self.assertEqual([response.status_code for response in plain], [403, 403, 403])
        self.assertIn('scope="team:read"', plain[0]["WWW-Authenticate"])
        self.assertIn("(team:read)", plain[0].json()["error_description"])
        self.assertIn('scope="team:read"', plain[2]["WWW-Authenticate"])  # @require_oauth
        self.assertEqual([response.status_code for response in qualified], [200, 200, 200])

    @override_settings(RESOURCE_SERVER_SCOPES="team:read team:write")
    def test_the_metadata_lists_the_configured_scopes(self):
        response = self.client.get("/.well-known/oauth-protected-resource")

        self.assertEqual(response.json()["scopes_supported"], ["team:read", "team:write"])

    def test_as_outage_is_503_with_retry_after(self):
        self.introspect.side_effect = IntrospectionUnavailable("timeout")

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

        others = self.client.get("/api/notes/", HTTP_AUTHORIZATION="Bearer t2")

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

    def test_head_follows_the_get_rule(self):
        self.introspect.return_value = claims("write")
        refused = self.client.head("/api/notes/", HTTP_AUTHORIZATION="Bearer tok")
        cache.forget("tok")
        self.introspect.return_value = claims("read")
        allowed = self.client.head("/api/notes/", HTTP_AUTHORIZATION="Bearer tok")

        self.assertEqual(refused.status_code, 403)
        self.assertIn('scope="read"', refused["WWW-Authenticate"])
        self.assertEqual(allowed.status_code, 200)

    def test_a_method_the_rules_do_not_name_is_refused_before_the_view(self):
        self.introspect.return_value = claims("read write notes")

        for method in ("patch", "put", "delete", "options"):
            with self.subTest(method=method):
                response = getattr(self.client, method)("/api/notes/", HTTP_AUTHORIZATION="Bearer tok")
                self.assertEqual(response.status_code, 403)
                self.assertEqual(response.json()["error"], "insufficient_scope")
                self.assertNotIn("scope=", response["WWW-Authenticate"])
        self.assertEqual(self.client.post("/api/notes/count/", HTTP_AUTHORIZATION="Bearer tok").status_code, 403)

    def test_without_a_token_an_unnamed_method_is_still_401(self):
        response = self.client.patch("/api/notes/")

        self.assertEqual(response.status_code, 401)
        self.introspect.assert_not_called()
