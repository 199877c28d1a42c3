"""The resource server's series move by what each event should cause, once (docs/operations.md)."""

import contextlib
import json
import time
from unittest import mock

import requests
from django.core.cache import caches
from django.test import SimpleTestCase, override_settings
from prometheus_client import REGISTRY

from introspection import cache, client, jwks, metrics
from introspection.errors import IntrospectionUnavailable

from . import test_security_events as notices
from . import test_signed_response as signed_answers
from .jose import AS_KEY, AS_KID, FOREIGN_KEY
from .test_revocations import Process

INTROSPECTIONS = "resource_server_introspection_requests_total"
DURATIONS = "resource_server_introspection_duration_seconds"
CACHE = "resource_server_token_cache_requests_total"
REFUSALS = "resource_server_token_refusals_total"
NOTICES = "resource_server_revocation_notices_total"
LAG = "resource_server_revocation_notice_lag_seconds"


def samples() -> dict[tuple[str, frozenset], float]:
    """Every sample of this server's series: (name, labels) → value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in REGISTRY.collect()
        if family.name.startswith("resource_server_")
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


class Deltas:
    """How much each sample moved during a ``counted()`` block."""

    def __init__(self):
        self.moved = {}

    def __call__(self, name: str, **labels: str) -> float:
        """The sum over the samples of ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(value for (sample, have), value in self.moved.items() if sample == name and wanted <= have)


@contextlib.contextmanager
def counted():
    deltas, before = Deltas(), samples()
    yield deltas
    deltas.moved = {key: value - before.get(key, 0.0) for key, value in samples().items()}


def answer(body: dict, status: int = 200) -> requests.Response:
    return signed_answers.answer(json.dumps(body), "application/json", status)


ACTIVE = {"active": True, "scope": "read", "client_id": "app", "sub": "1"}


class IntrospectionTests(SimpleTestCase):
    def setUp(self):
        self.post = self.enterContext(mock.patch.object(client, "session")).return_value.post

    def assert_counted(self, outcome: str, reason: str = "") -> Deltas:
        with counted() as moved:
            try:
                client.introspect("tok")
            except IntrospectionUnavailable as error:
                self.assertEqual(error.reason, reason)
        self.assertEqual(moved(INTROSPECTIONS), 1)
        self.assertEqual(moved(INTROSPECTIONS, outcome=outcome, reason=reason), 1)
        self.assertEqual(moved(DURATIONS + "_count"), 1)
        self.assertEqual(moved(DURATIONS + "_count", outcome=outcome), 1)
        return moved

    def test_an_active_and_an_inactive_answer_with_their_durations(self):
        self.post.return_value = answer(ACTIVE)
        moved = self.assert_counted(metrics.ACTIVE)
        took = moved(DURATIONS + "_sum", outcome="active")
        for le in ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "+Inf"):
            self.assertEqual(moved(DURATIONS + "_bucket", outcome="active", le=le), int(took <= float(le)), (took, le))

        self.post.return_value = answer({"active": False})
        self.assert_counted(metrics.INACTIVE)

    def test_each_failure_of_the_as_is_unavailable_with_its_reason(self):
        failures = {
            metrics.TIMEOUT: requests.ReadTimeout(),
            metrics.CONNECTION: requests.ConnectionError(),  # retried once (client.post): still one call counted
            metrics.STATUS: answer({"error": "invalid_client"}, status=401),
            metrics.MALFORMED: signed_answers.answer("<html>", "text/html"),
        }
        for reason, failure in failures.items():
            with self.subTest(reason):
                self.post.side_effect = [failure, failure] if isinstance(failure, Exception) else None
                self.post.return_value = failure
                self.assert_counted(metrics.UNAVAILABLE, reason)

    @override_settings(RESOURCE_SERVER_INTROSPECTION_SIGNED=True)
    def test_each_refused_signed_answer_is_unavailable_with_a_reason_of_a_few(self):
        fetch = self.enterContext(mock.patch.object(jwks, "fetch", return_value={AS_KID: AS_KEY.public()}))
        refusals = {
            metrics.MEDIA_TYPE: answer(ACTIVE),
            metrics.SIGNATURE: signed_answers.answer(signed_answers.signed(signed_answers.claims(), FOREIGN_KEY)),
            metrics.CLAIMS: signed_answers.answer(signed_answers.signed(signed_answers.claims(iss="http://evil"))),
        }
        for reason, refused in refusals.items():
            with self.subTest(reason):
                self.post.return_value = refused
                self.assert_counted(metrics.UNAVAILABLE, reason)

        jwks.keys.clear()
        fetch.side_effect = jwks.JWKSUnavailable()
        self.post.return_value = signed_answers.answer(signed_answers.signed(signed_answers.claims()))
        self.assert_counted(metrics.UNAVAILABLE, metrics.JWKS)
        jwks.keys.clear()


@override_settings(RESOURCE_SERVER_TOKEN_CACHING_SECONDS=60, RESOURCE_SERVER_LOCAL_CACHE_SECONDS=60)
class TokenCacheTests(SimpleTestCase):
    def setUp(self):
        caches["default"].clear()
        self.here = Process()
        self.here.poll()
        self.enterContext(self.here.running())
        self.introspect = mock.Mock(return_value=ACTIVE)

    def lookup(self) -> Deltas:
        with counted() as moved:
            self.assertEqual(cache.answer("tok", self.introspect), ACTIVE)
        return moved

    def test_a_new_token_misses_both_layers_then_hits_the_local_one(self):
        first = self.lookup()
        self.assertEqual(first(CACHE, layer="local", result="miss"), 1)
        self.assertEqual(first(CACHE, layer="shared", result="miss"), 1)
        self.assertEqual(first(CACHE), 2)

        again = self.lookup()
        self.assertEqual(again(CACHE, layer="local", result="hit"), 1)
        self.assertEqual(again(CACHE), 1)  # the shared layer is not asked
        self.assertEqual(self.introspect.call_count, 1)

    def test_another_process_misses_its_local_layer_and_hits_the_shared_one(self):
        self.lookup()
        other = Process()
        other.poll()
        with other.running():
            moved = self.lookup()

        self.assertEqual(moved(CACHE, layer="local", result="miss"), 1)
        self.assertEqual(moved(CACHE, layer="shared", result="hit"), 1)
        self.assertEqual(moved(CACHE), 2)

    def test_a_request_waiting_for_another_process_counts_one_lookup(self):
        """The single flight's repeated lookups (cache.stored_by_another_process) are not requests."""
        self.enterContext(mock.patch.object(cache, "take_lock", return_value=False))
        self.enterContext(mock.patch.object(cache, "POLL_SECONDS", 0.001))
        lookups = mock.Mock(side_effect=[(None, None)] * 5 + [(ACTIVE, metrics.SHARED)])
        with mock.patch.object(cache, "lookup", lookups), mock.patch.object(cache, "lock_held", return_value=True):
            moved = self.lookup()

        self.assertEqual(lookups.call_count, 6)
        self.assertEqual(moved(CACHE, layer="local", result="miss"), 1)
        self.assertEqual(moved(CACHE, layer="shared", result="miss"), 1)
        self.assertEqual(moved(CACHE), 2)
        self.introspect.assert_not_called()

    def test_a_revoked_answer_in_the_local_layer_is_a_miss(self):
        self.lookup()
        now = time.time()
        self.here.tombstones.add("all", "", now, now)

        moved = self.lookup()

        self.assertEqual(moved(CACHE, layer="local", result="miss"), 1)
        self.assertEqual(moved(CACHE, layer="shared", result="miss"), 1)
        self.assertEqual(self.introspect.call_count, 2)


class RefusalTests(SimpleTestCase):
    def setUp(self):
        caches["default"].clear()
        cache.local.clear()
        self.introspect = self.enterContext(mock.patch("introspection.client.introspect"))

    def refused(self, path: str, status: int, token: str | None = None, answer: dict | None = None) -> Deltas:
        self.introspect.return_value = answer
        headers = {} if token is None else {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        with counted() as moved:
            response = self.client.get(path, **headers)
        self.assertEqual(response.status_code, status)
        return moved

    def test_each_rfc_6750_error_counts_once_in_drf_views_and_plain_ones(self):
        for path in ("/api/me/", "/api/notes/count/"):  # a DRF view, a @require_oauth one
            with self.subTest(path):
                moved = self.refused(path + "?access_token=tok", 400)
                self.assertEqual((moved(REFUSALS), moved(REFUSALS, error="invalid_request")), (1, 1))
                moved = self.refused(path, 401, f"inactive{path}", {"active": False})
                self.assertEqual((moved(REFUSALS), moved(REFUSALS, error="invalid_token")), (1, 1))
                moved = self.refused(path, 403, f"write{path}", {**ACTIVE, "scope": "write"})
                self.assertEqual((moved(REFUSALS), moved(REFUSALS, error="insufficient_scope")), (1, 1))

    def test_a_request_without_a_token_has_no_error_code_and_is_not_counted(self):
        self.assertEqual(self.refused("/api/me/", 401)(REFUSALS), 0)


@override_settings(RESOURCE_SERVER_LOCAL_CACHE_SECONDS=60)
class RevocationNoticeTests(SimpleTestCase):
    def setUp(self):
        caches["default"].clear()
        self.enterContext(Process().running())
        self.fetch = self.enterContext(mock.patch.object(jwks, "fetch", return_value={AS_KID: AS_KEY.public()}))
        jwks.keys.clear()

    def post(self, **claims) -> tuple[int, Deltas]:
        with counted() as moved:
            response = self.client.post(
                "/security-events/",
                data=notices.signed(notices.claims(**claims)),
                content_type="application/secevent+jwt",
            )
        self.assertEqual(moved(NOTICES), 1)
        return response.status_code, moved

    def test_an_accepted_notice_and_its_lag_from_iat(self):
        status, moved = self.post(iat=int(time.time()) - 5)

        self.assertEqual(status, 202)
        self.assertEqual(moved(NOTICES, outcome="accepted", reason=""), 1)
        self.assertEqual(moved(LAG + "_count"), 1)
        # 5 s and a fraction: iat is whole seconds.
        self.assertEqual(moved(LAG + "_bucket", le="4.0"), 0)
        self.assertEqual(moved(LAG + "_bucket", le="8.0"), 1)
        self.assertGreaterEqual(moved(LAG + "_sum"), 5)

    def test_a_refused_notice_counts_its_rfc_8935_err_and_no_lag(self):
        cases = {
            "invalid_issuer": {"iss": "http://evil.example"},
            "invalid_audience": {"aud": "http://other.example/"},
            "invalid_request": {"iat": int(time.time()) - 121},
        }
        for err, claims in cases.items():
            with self.subTest(err):
                status, moved = self.post(**claims)
                self.assertEqual(status, 400)
                self.assertEqual(moved(NOTICES, outcome="refused", reason=err), 1)
                self.assertEqual(moved(LAG + "_count"), 0)

    def test_a_notice_not_applied_now_is_refused_with_what_was_unavailable(self):
        self.fetch.side_effect = jwks.JWKSUnavailable()
        status, moved = self.post()
        self.assertEqual((status, moved(NOTICES, outcome="refused", reason="jwks")), (503, 1))

        self.fetch.side_effect = None
        jwks.keys.clear()  # else the next fetch waits jwks.REFETCH_SECONDS
        with mock.patch.object(type(caches["default"]), "add", side_effect=ConnectionError()):
            status, moved = self.post()
        self.assertEqual((status, moved(NOTICES, outcome="refused", reason="token_cache")), (503, 1))
        self.assertEqual(moved(LAG + "_count"), 0)


class LabelTests(SimpleTestCase):
    def test_every_series_exists_at_zero_with_its_bounded_labels(self):
        exported = samples()
        for reason in metrics.UNAVAILABLE_REASONS:
            self.assertIn((INTROSPECTIONS, frozenset({"outcome": "unavailable", "reason": reason}.items())), exported)
        for error in metrics.REFUSAL_ERRORS:
            self.assertIn((REFUSALS, frozenset({"error": error}.items())), exported)
        for layer in ("local", "shared"):
            for result in ("hit", "miss"):
                self.assertIn((CACHE, frozenset({"layer": layer, "result": result}.items())), exported)
        for reason in metrics.NOTICE_REFUSAL_REASONS:
            self.assertIn((NOTICES, frozenset({"outcome": "refused", "reason": reason}.items())), exported)
        self.assertIn((LAG + "_count", frozenset()), exported)
