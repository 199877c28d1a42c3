import pickle
import threading
import time
from unittest import mock

from diskcache import Disk, FanoutCache
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import SimpleTestCase, override_settings

from introspection import cache
from introspection.cache_backends import JSONOnlyDisk, JSONSerializer, UntrustedCacheEntry, token_cache
from introspection.checks import reads_json_only, token_cache_reads_json_only

ACTIVE = {"active": True, "scope": "read", "client_id": "c", "sub": "s"}


UNPICKLED = []


def unpickled():
    UNPICKLED.append(True)


class Payload:
    """Unpickling it runs ``unpickled``."""

    def __reduce__(self):
        return (unpickled, ())


# The shared layer alone: what another process reads there.
@override_settings(RESOURCE_SERVER_TOKEN_CACHING_SECONDS=60, RESOURCE_SERVER_LOCAL_CACHE_SECONDS=0)
class SignedEntryTests(SimpleTestCase):
    def setUp(self):
        caches["default"].clear()
        cache.local.clear()

    def stored(self, token):
        return caches["default"].get(cache.key(token))

    def test_an_answer_comes_back_as_it_was_put(self):
        cache.put("tok", ACTIVE, time.time())

        self.assertEqual(cache.get("tok"), ACTIVE)
        self.assertNotIn("tok", str(self.stored("tok")))

    def test_a_forged_answer_is_a_miss(self):
        cache.put("tok", ACTIVE, time.time())
        entry = self.stored("tok")
        forged = {**entry, "claims": entry["claims"].replace('"sub":"s"', '"sub":"admin"')}
        caches["default"].set(cache.key("tok"), forged)

        self.assertIsNone(cache.get("tok"))

    def test_an_answer_moved_to_another_token_is_a_miss(self):
        cache.put("writer", {**ACTIVE, "scope": "read write"}, time.time())
        caches["default"].set(cache.key("reader"), self.stored("writer"))

        self.assertIsNone(cache.get("reader"))

    def test_an_entry_kept_past_its_lifetime_is_a_miss(self):
        cache.put("tok", ACTIVE, time.time())
        with mock.patch("time.time", return_value=time.time() + 61):
            self.assertIsNone(cache.get("tok"))

    def test_entries_of_another_shape_are_misses(self):
        for value in ({"active": True, "sub": "admin"}, ["claims"], "claims", 7):
            with self.subTest(value=value):
                caches["default"].set(cache.key("tok"), value)
                self.assertIsNone(cache.get("tok"))

    def test_a_signed_answer_this_server_no_longer_accepts_is_a_miss(self):
        key = cache.key("tok")
        caches["default"].set(key, cache.entry(key, {"active": True, "scope": "read"}, time.time() + 60, time.time()))

        self.assertIsNone(cache.get("tok"))


@override_settings(RESOURCE_SERVER_TOKEN_CACHING_SECONDS=60, RESOURCE_SERVER_LOCAL_CACHE_SECONDS=2)
class LocalLayerTests(SimpleTestCase):
    def setUp(self):
        caches["default"].clear()
        self.monotonic = time.monotonic()
        patcher = mock.patch.object(cache, "local", cache.LocalLayer(timer=lambda: self.monotonic))
        patcher.start()
        self.addCleanup(patcher.stop)

    def later(self, seconds: float):
        """Both clocks moved on: the wall clock of ``until`` and the layer's monotonic one."""
        self.monotonic += seconds
        return mock.patch("time.time", return_value=time.time() + seconds)

    def test_a_hit_reads_nothing_from_the_shared_cache(self):
        cache.put("tok", ACTIVE, time.time())

        with mock.patch.object(type(caches["default"]), "get", side_effect=AssertionError("shared cache read")):
            self.assertEqual(cache.get("tok"), ACTIVE)

    def test_what_another_process_verified_is_kept_here_after_one_read(self):
        cache.put("tok", ACTIVE, time.time())
        cache.local.clear()  # as in a process that has not seen the token

        self.assertEqual(cache.get("tok"), ACTIVE)
        caches["default"].delete(cache.key("tok"))
        self.assertEqual(cache.get("tok"), ACTIVE)

    def test_a_deletion_from_the_shared_cache_reaches_it_within_its_seconds(self):
        cache.put("tok", ACTIVE, time.time())
        caches["default"].delete(cache.key("tok"))

        self.assertEqual(cache.get("tok"), ACTIVE)
        with self.later(2.01):
            self.assertIsNone(cache.get("tok"))

    @override_settings(RESOURCE_SERVER_TOKEN_CACHING_SECONDS=1)
    def test_it_never_outlives_the_shared_entry(self):
        cache.put("tok", ACTIVE, time.time())

        with self.later(1.01):
            self.assertIsNone(cache.local.get(cache.key("tok")))

    def test_it_never_outlives_exp(self):
        cache.put("tok", {**ACTIVE, "exp": int(time.time()) + 1}, time.time())

        with self.later(1.01):
            self.assertIsNone(cache.local.get(cache.key("tok")))

    @override_settings(RESOURCE_SERVER_LOCAL_CACHE_SECONDS=0)
    def test_zero_turns_it_off(self):
        cache.put("tok", ACTIVE, time.time())

        self.assertIsNone(cache.local.get(cache.key("tok")))
        self.assertEqual(cache.get("tok"), ACTIVE)

    def test_forget_deletes_from_both_layers(self):
        cache.put("tok", ACTIVE, time.time())

        cache.forget("tok")

        self.assertIsNone(cache.local.get(cache.key("tok")))
        self.assertIsNone(caches["default"].get(cache.key("tok")))
        self.assertIsNone(cache.get("tok"))

    def test_it_serves_while_the_shared_cache_is_down(self):
        shared = type(caches["default"])
        with (
            mock.patch.object(shared, "set", side_effect=OSError),
            mock.patch.object(shared, "get", side_effect=OSError),
        ):
            cache.put("tok", ACTIVE, time.time())
            self.assertEqual(cache.get("tok"), ACTIVE)
            cache.forget("tok")  # an outage is no error either
            self.assertIsNone(cache.get("tok"))

    def test_a_caller_changing_its_claims_changes_no_one_elses(self):
        cache.put("tok", ACTIVE, time.time())

        cache.get("tok")["scope"] = "admin"

        self.assertEqual(cache.get("tok"), ACTIVE)

    def test_its_size_is_bounded(self):
        layer = cache.LocalLayer(maxsize=2)
        asked = time.time()
        for token in ("a", "b", "c"):
            layer.put(token, ACTIVE, asked + 60, asked)

        self.assertIsNone(layer.get("a"))
        self.assertEqual(layer.get("c"), (ACTIVE, asked, False))


BOUND = {**ACTIVE, "aud": ["https://api.example/"]}


@override_settings(RESOURCE_SERVER_TOKEN_CACHING_SECONDS=60, RESOURCE_SERVER_LOCAL_CACHE_SECONDS=2)
class LocalLayerIsolationTests(SimpleTestCase):
    """Each request gets claims of its own, nested values included; forget() wins over a read under way."""

    def setUp(self):
        caches["default"].clear()
        patcher = mock.patch.object(cache, "local", cache.LocalLayer())
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_a_request_changing_the_audience_list_changes_no_later_request(self):
        cache.put("tok", {**BOUND, "aud": list(BOUND["aud"])}, time.time())

        cache.get("tok")["aud"].append("https://other.example/")

        self.assertEqual(cache.get("tok")["aud"], ["https://api.example/"])

    def test_the_claims_a_miss_hands_over_are_not_the_cached_ones(self):
        claims = {**BOUND, "aud": list(BOUND["aud"])}
        cache.put("tok", claims, time.time())  # the miss path: these claims then go to the view

        claims["aud"].append("https://other.example/")

        self.assertEqual(cache.get("tok")["aud"], ["https://api.example/"])

    def test_an_answer_forgotten_during_a_read_on_another_thread_is_not_kept_afterwards(self):
        cache.put("tok", BOUND, time.time())
        cache.local.clear()  # this process has not seen the token yet
        shared = caches["default"]
        read = shared.get

        def read_then_forgotten(key, *args, **kwargs):
            value = read(key, *args, **kwargs)
            cache.forget("tok")  # the revocation, handled on another thread meanwhile
            return value

        with mock.patch.object(shared, "get", side_effect=read_then_forgotten):
            cache.get("tok")  # the request already under way may still be served

        self.assertIsNone(cache.get("tok"))


PLAIN = override_settings(RESOURCE_SERVER_INTROSPECTION_SIGNED=False)
SIGNED = override_settings(RESOURCE_SERVER_INTROSPECTION_SIGNED=True)


@override_settings(RESOURCE_SERVER_TOKEN_CACHING_SECONDS=60, RESOURCE_SERVER_LOCAL_CACHE_SECONDS=60)
class SigningModeTests(SimpleTestCase):
    """One token cache for an API that requires signed answers and one that does not (before the
    upgrade, or a replica not yet upgraded): neither reads the other's answers, in either layer."""

    def setUp(self):
        caches["default"].clear()
        cache.local.clear()

    def cached_in(self, mode) -> str:
        """The key of an answer for "tok" put by an API in ``mode``, kept in both layers."""
        with mode:
            cache.put("tok", ACTIVE, time.time())
            return cache.key("tok")

    def assert_unread_in(self, mode, written: str):
        with mode:
            # Its own layer holds the entry too, as if this process had changed mode without clearing it.
            cache.local.put(written, ACTIVE, time.time() + 60, time.time())
            self.assertIsNotNone(caches["default"].get(written))
            self.assertNotEqual(cache.key("tok"), written)
            self.assertIsNone(cache.get("tok"))

    def test_an_api_that_requires_signed_answers_reads_no_plain_one(self):
        self.assert_unread_in(SIGNED, self.cached_in(PLAIN))

    def test_an_api_without_signing_reads_no_signed_answer(self):
        self.assert_unread_in(PLAIN, self.cached_in(SIGNED))

    def test_each_reads_its_own(self):
        for mode in (PLAIN, SIGNED):
            with self.subTest(signed=mode is SIGNED):
                self.cached_in(mode)
                cache.local.clear()  # from the shared cache, as another process reads it
                with mode:
                    self.assertEqual(cache.get("tok"), ACTIVE)
                    self.assertEqual(cache.get("tok"), ACTIVE)  # and from its own layer


class SlowAuthorizationServer:
    """``introspect`` for cache.answer(): counts its calls, each taking ``seconds``."""

    def __init__(self, claims: dict, seconds: float = 0.05):
        self.claims, self.seconds, self.calls = claims, seconds, 0
        self.lock = threading.Lock()

    def __call__(self, token: str) -> dict:
        with self.lock:
            self.calls += 1
        time.sleep(self.seconds)
        return dict(self.claims)


@override_settings(RESOURCE_SERVER_TOKEN_CACHING_SECONDS=60, RESOURCE_SERVER_LOCAL_CACHE_SECONDS=2)
class SingleFlightTests(SimpleTestCase):
    def setUp(self):
        caches["default"].clear()
        patcher = mock.patch.object(cache, "local", cache.LocalLayer())
        patcher.start()
        self.addCleanup(patcher.stop)

    def together(self, count: int, introspect) -> list:
        answers = [None] * count

        def ask(index):
            answers[index] = cache.answer("tok", introspect)

        threads = [threading.Thread(target=ask, args=(index,)) for index in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        return answers

    def test_threads_that_miss_together_introspect_once(self):
        server = SlowAuthorizationServer(ACTIVE)

        self.assertEqual(self.together(8, server), [ACTIVE] * 8)
        self.assertEqual(server.calls, 1)

    def test_a_process_waits_for_the_answer_that_another_process_stores(self):
        lock_key = cache.LOCK_PREFIX + cache.key("tok")
        caches["default"].add(lock_key, 1, timeout=10)  # another process is asking
        storing = threading.Timer(0.05, cache.put, args=("tok", ACTIVE, time.time()))
        storing.start()
        server = SlowAuthorizationServer(ACTIVE)

        self.assertEqual(cache.answer("tok", server), ACTIVE)
        self.assertEqual(server.calls, 0)
        storing.join()

    def test_an_answer_that_is_not_cached_is_asked_for_by_each_waiter(self):
        inactive = SlowAuthorizationServer({"active": False})

        self.assertEqual(self.together(3, inactive), [{"active": False}] * 3)
        self.assertEqual(inactive.calls, 3)

    @override_settings(RESOURCE_SERVER_INTROSPECTION_TIMEOUT=0.2)
    def test_a_lock_that_nobody_releases_costs_a_wait_then_an_introspection(self):
        lock_key = cache.LOCK_PREFIX + cache.key("tok")
        caches["default"].add(lock_key, 1, timeout=10)  # written by a process that died, or by someone else
        server = SlowAuthorizationServer(ACTIVE, seconds=0)

        started = time.monotonic()
        self.assertEqual(cache.answer("tok", server), ACTIVE)
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertEqual(server.calls, 1)

    @override_settings(RESOURCE_SERVER_TOKEN_CACHING_SECONDS=0)
    def test_without_caching_every_request_introspects(self):
        server = SlowAuthorizationServer(ACTIVE, seconds=0)

        self.assertEqual(self.together(3, server), [ACTIVE] * 3)
        self.assertEqual(server.calls, 3)


class TokenCacheHelperTests(SimpleTestCase):
    def test_a_redis_url_or_a_directory_gives_a_configuration_the_check_accepts(self):
        for location in ("redis://127.0.0.1:6379/0", "rediss://cache.example/1", "/var/cache/tokens"):
            with self.subTest(location=location):
                config = token_cache(location)
                self.assertEqual(config["LOCATION"], location)
                self.assertTrue(reads_json_only(config))
        self.assertIn("Redis", token_cache("redis://127.0.0.1:6379/0")["BACKEND"])
        self.assertIn("SharedDiskCache", token_cache("/var/cache/tokens")["BACKEND"])

    def test_a_scheme_is_case_insensitive(self):
        """RFC 3986 §3.1; redis-py reads Redis:// as redis://. Before, it became a directory of that name."""
        self.assertIn("Redis", token_cache("Redis://127.0.0.1:6379/0")["BACKEND"])

    def test_a_url_that_can_never_work_is_named_without_its_value(self):
        """Before, Redis failed on every request, or the URL, password and all, became a directory path."""
        for location in (
            "redis://127.0.0.1:abc/0",
            "redis://127.0.0.1:70000/0",
            "rediss://:s3cret/x@cache.example:6380/0",  # a '/' in the password, not percent-encoded
            "memcached://:s3cret@127.0.0.1:11211/",
            "http://s3cret@cache.example/",
        ):
            with self.subTest(location=location), self.assertRaises(ImproperlyConfigured) as refused:
                token_cache(location)
            self.assertIn("RS_CACHE_URL", str(refused.exception))
            self.assertNotIn("s3cret", str(refused.exception))
            self.assertNotIn("127.0.0.1", str(refused.exception))


class JSONBackendTests(SimpleTestCase):
    def test_the_redis_serializer_writes_json_and_never_unpickles(self):
        serializer = JSONSerializer()

        self.assertEqual(serializer.loads(serializer.dumps({"a": [1, 2.5]})), {"a": [1, 2.5]})
        for data in (pickle.dumps(Payload()), b"\x80", b"[" * 100_000):
            with self.subTest(data=data[:10]), self.assertRaises(UntrustedCacheEntry):
                serializer.loads(data)
        self.assertEqual(UNPICKLED, [])

    def test_the_disk_refuses_pickled_rows(self):
        directory = caches["default"].directory
        planted = FanoutCache(directory, disk=PicklingDisk)
        planted.set("payload", Payload())
        planted.set("plain", b"not compressed json")
        reader = FanoutCache(directory, disk=JSONOnlyDisk)

        for key in ("payload", "plain"):
            with self.subTest(key=key), self.assertRaises(UntrustedCacheEntry):
                reader.get(key)
        self.assertEqual(UNPICKLED, [])

    def test_a_pickled_key_is_refused(self):
        with self.assertRaises(UntrustedCacheEntry):
            JSONOnlyDisk("/nonexistent").get(pickle.dumps("key"), raw=False)


class PicklingDisk(JSONOnlyDisk):
    """The keys of JSONOnlyDisk, the values of diskcache's default Disk (pickle)."""

    def store(self, value, read, key=None):
        return Disk.store(self, value, read)


class TokenCacheCheckTests(SimpleTestCase):
    def errors(self, **config):
        with override_settings(CACHES={"default": config}):
            return token_cache_reads_json_only(None)

    def test_the_shipped_configurations_pass(self):
        self.assertEqual(
            self.errors(BACKEND="introspection.cache_backends.SharedDiskCache", OPTIONS={"disk": JSONOnlyDisk}), []
        )
        self.assertEqual(self.errors(BACKEND="diskcache.DjangoCache", OPTIONS={"disk": JSONOnlyDisk}), [])
        self.assertEqual(
            self.errors(
                BACKEND="django.core.cache.backends.redis.RedisCache",
                OPTIONS={"serializer": "introspection.cache_backends.JSONSerializer"},
            ),
            [],
        )

    def test_backends_that_could_unpickle_are_refused(self):
        for config in (
            {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "unused"},
            {"BACKEND": "django.core.cache.backends.redis.RedisCache"},
            {"BACKEND": "django.core.cache.backends.redis.RedisCache", "OPTIONS": {"serializer": "json.JSONDecoder"}},
            {"BACKEND": "diskcache.DjangoCache"},
            {"BACKEND": "diskcache.DjangoCache", "OPTIONS": {"disk": Disk}},
            {"BACKEND": "no.such.Backend"},
        ):
            with self.subTest(config=config):
                errors = self.errors(**config)
                self.assertEqual([error.id for error in errors], ["introspection.E001"])
                self.assertIn("JSONOnlyDisk", errors[0].hint)

    def test_manage_py_check_runs_it(self):
        with (
            override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}),
            self.assertRaisesMessage(SystemCheckError, "introspection.E001"),
        ):
            call_command("check")
