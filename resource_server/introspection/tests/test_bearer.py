import time
from unittest import mock

from django.core.cache import caches
from django.test import RequestFactory, SimpleTestCase, override_settings

from introspection import bearer, cache
from introspection.errors import InvalidRequest, InvalidToken

ACTIVE = {"active": True, "scope": "read", "client_id": "c", "sub": "1", "username": "alice"}


class BearerTokenTests(SimpleTestCase):
    factory = RequestFactory()

    def token_of(self, header=None, path="/api/me/"):
        extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
        return bearer.bearer_token(self.factory.get(path, **extra))

    def test_token_is_read_from_the_bearer_header(self):
        self.assertEqual(self.token_of("Bearer abc.DEF-123_~+/=="), "abc.DEF-123_~+/==")
        self.assertEqual(self.token_of("bearer abc"), "abc")

    def test_no_header_or_another_scheme_is_no_token(self):
        self.assertIsNone(self.token_of())
        self.assertIsNone(self.token_of("Basic dXNlcjpwYXNz"))

    def test_malformed_headers_are_invalid_requests(self):
        for header in ("Bearer", "Bearer ", "Bearer a b", "Bearer a,b", "Bearer tök", "Bearer a=b"):
            with self.subTest(header=header), self.assertRaises(InvalidRequest):
                self.token_of(header)

    def test_token_in_the_query_string_is_an_invalid_request(self):
        with self.assertRaises(InvalidRequest):
            self.token_of(path="/api/me/?access_token=abc")


@override_settings(
    RESOURCE_SERVER_TOKEN_CACHING_SECONDS=60,
    RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS=0,
    RESOURCE_SERVER_RESOURCE="https://api.example/",
    RESOURCE_SERVER_REQUIRE_AUDIENCE=False,
)
class AuthenticateTests(SimpleTestCase):
    factory = RequestFactory()

    def authenticate(self):
        return bearer.authenticate(self.factory.get("/", HTTP_AUTHORIZATION="Bearer tok"))

    def setUp(self):
        patcher = mock.patch("introspection.client.introspect")
        self.introspect = patcher.start()
        self.addCleanup(patcher.stop)
        caches["default"].clear()
        cache.local.clear()

    def test_active_token_becomes_the_request_token(self):
        self.introspect.return_value = {**ACTIVE, "exp": time.time() + 600}

        token = self.authenticate()

        self.assertEqual(token.scope, frozenset({"read"}))
        self.assertEqual((token.client_id, token.sub, token.username), ("c", "1", "alice"))
        self.assertTrue(token.user.is_authenticated)

    def test_positive_answer_is_reused_until_the_cache_lifetime(self):
        self.introspect.return_value = {**ACTIVE, "exp": time.time() + 600}

        self.authenticate()
        self.authenticate()

        self.assertEqual(self.introspect.call_count, 1)

    @override_settings(RESOURCE_SERVER_TOKEN_CACHING_SECONDS=0)
    def test_zero_caching_introspects_every_request_and_tokens_still_work(self):
        self.introspect.return_value = {**ACTIVE, "exp": time.time() + 600}

        self.assertEqual(self.authenticate().sub, "1")
        self.assertEqual(self.authenticate().sub, "1")

        self.assertEqual(self.introspect.call_count, 2)

    def test_inactive_token_is_invalid_and_not_cached_by_default(self):
        self.introspect.return_value = {"active": False}

        for _ in range(2):
            with self.assertRaises(InvalidToken):
                self.authenticate()
        self.assertEqual(self.introspect.call_count, 2)

    @override_settings(RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS=30)
    def test_negative_caching_remembers_inactive_tokens(self):
        self.introspect.return_value = {"active": False}

        for _ in range(2):
            with self.assertRaises(InvalidToken):
                self.authenticate()
        self.assertEqual(self.introspect.call_count, 1)

    def test_active_answer_whose_exp_has_passed_is_invalid(self):
        self.introspect.return_value = {**ACTIVE, "exp": time.time() - 1}

        with self.assertRaises(InvalidToken):
            self.authenticate()

    def test_audience_must_name_this_resource_exactly(self):
        for audience in ("https://api.example/", ["https://other.example/", "https://api.example/"]):
            with self.subTest(audience=audience):
                self.introspect.return_value = {**ACTIVE, "aud": audience, "exp": time.time() + 600}
                cache.forget("tok")
                self.assertEqual(self.authenticate().sub, "1")
        for audience in ("https://other.example/", "https://api.example", "https://API.example/", [], [""]):
            with self.subTest(audience=audience):
                self.introspect.return_value = {**ACTIVE, "aud": audience, "exp": time.time() + 600}
                cache.forget("tok")
                with self.assertRaisesMessage(InvalidToken, "not meant for this resource"):
                    self.authenticate()

    def test_audience_is_checked_on_cached_answers_too(self):
        self.introspect.return_value = {**ACTIVE, "aud": "https://other.example/", "exp": time.time() + 600}

        for _ in range(2):
            with self.assertRaises(InvalidToken):
                self.authenticate()
        self.assertEqual(self.introspect.call_count, 1)

    def test_a_token_without_audience_is_refused_only_when_one_is_required(self):
        self.introspect.return_value = {**ACTIVE, "exp": time.time() + 600}
        self.assertEqual(self.authenticate().sub, "1")

        with (
            override_settings(RESOURCE_SERVER_REQUIRE_AUDIENCE=True),
            self.assertRaisesMessage(InvalidToken, "names no audience"),
        ):
            self.authenticate()

    def test_refresh_token_is_not_an_access_token(self):
        self.introspect.return_value = {**ACTIVE, "token_type": "refresh_token", "exp": time.time() + 60}

        with self.assertRaises(InvalidToken):
            self.authenticate()


class CacheLifetimeTests(SimpleTestCase):
    @override_settings(RESOURCE_SERVER_TOKEN_CACHING_SECONDS=60)
    def test_lifetime_never_passes_exp(self):
        self.assertEqual(cache.lifetime({"active": True}), 60)
        self.assertLessEqual(cache.lifetime({"active": True, "exp": time.time() + 10.9}), 10)
        self.assertEqual(cache.lifetime({"active": True, "exp": time.time() - 5}), 0)

    def test_keys_do_not_contain_the_token(self):
        self.assertNotIn("secret-token", cache.key("secret-token"))
