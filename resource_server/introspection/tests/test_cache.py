import pickle
import time
from unittest import mock

from diskcache import Disk, FanoutCache
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import SimpleTestCase, override_settings

from introspection import cache
from introspection.cache_backends import JSONOnlyDisk, JSONSerializer, UntrustedCacheEntry
from introspection.checks import token_cache_reads_json_only

ACTIVE = {"active": True, "scope": "read", "client_id": "c", "sub": "s"}


UNPICKLED = []


def unpickled():
    UNPICKLED.append(True)


class Payload:
    """Unpickling it runs ``unpickled``."""

    def __reduce__(self):
        return (unpickled, ())


@override_settings(RESOURCE_SERVER_TOKEN_CACHING_SECONDS=60)
class SignedEntryTests(SimpleTestCase):
    def setUp(self):
        caches["default"].clear()

    def stored(self, token):
        return caches["default"].get(cache.key(token))

    def test_an_answer_comes_back_as_it_was_put(self):
        cache.put("tok", ACTIVE)

        self.assertEqual(cache.get("tok"), ACTIVE)
        self.assertNotIn("tok", str(self.stored("tok")))

    def test_a_forged_answer_is_a_miss(self):
        cache.put("tok", ACTIVE)
        entry = self.stored("tok")
        forged = {**entry, "claims": entry["claims"].replace('"sub":"s"', '"sub":"admin"')}
        caches["default"].set(cache.key("tok"), forged)

        self.assertIsNone(cache.get("tok"))

    def test_an_answer_moved_to_another_token_is_a_miss(self):
        cache.put("writer", {**ACTIVE, "scope": "read write"})
        caches["default"].set(cache.key("reader"), self.stored("writer"))

        self.assertIsNone(cache.get("reader"))

    def test_an_entry_kept_past_its_lifetime_is_a_miss(self):
        cache.put("tok", ACTIVE)
        with mock.patch("time.time", return_value=time.time() + 61):
            self.assertIsNone(cache.get("tok"))

    def test_entries_of_another_shape_are_misses(self):
        for value in ({"active": True, "sub": "admin"}, ["claims"], "claims", 7):
            with self.subTest(value=value):
                caches["default"].set(cache.key("tok"), value)
                self.assertIsNone(cache.get("tok"))

    def test_a_signed_answer_this_server_no_longer_accepts_is_a_miss(self):
        key = cache.key("tok")
        caches["default"].set(key, cache.entry(key, {"active": True, "scope": "read"}, 60))

        self.assertIsNone(cache.get("tok"))


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
