import contextlib
import hashlib
import multiprocessing
import shutil
import socket
import subprocess
import threading
import time
import unittest
from unittest import mock

from django.core.cache import caches
from django.test import SimpleTestCase, override_settings

from introspection import cache, revocations
from introspection.cache_backends import token_cache
from introspection.throttled_log import ThrottledLog

ALICE = {"active": True, "scope": "read", "client_id": "app-1", "sub": "alice"}
BOB = {"active": True, "scope": "read", "client_id": "app-2", "sub": "bob"}
CAROL = {"active": True, "scope": "read", "client_id": "app-3", "sub": "carol"}
ANSWERS = {"tok-a": ALICE, "tok-b": BOB, "tok-c": CAROL}
# Each revocation, and the tokens whose cached answers it makes misses.
REVOCATIONS = {
    ("token", hashlib.sha256(b"tok-a").hexdigest()): {"tok-a"},
    ("sub", "bob"): {"tok-b"},
    ("client_id", "app-3"): {"tok-c"},
    ("all", ""): {"tok-a", "tok-b", "tok-c"},
}


class Process:
    """Another process of the API: its own tombstones, local layer and log follower, over the same token cache."""

    def __init__(self):
        self.tombstones = revocations.Tombstones()
        self.local = cache.LocalLayer()
        self.follower = revocations.Follower(self.tombstones, self.local)

    @contextlib.contextmanager
    def running(self):
        """Module state is this process's while the block runs."""
        with (
            mock.patch.object(revocations, "tombstones", self.tombstones),
            mock.patch.object(revocations, "follower", self.follower),
            mock.patch.object(cache, "local", self.local),
        ):
            yield

    def poll(self) -> None:
        with self.running():
            self.follower.poll()

    def cached(self) -> set[str]:
        with self.running():
            return {token for token in ANSWERS if cache.get(token) is not None}


def write(number: int, kind: str, value: str, received: float | None = None) -> None:
    """Entry ``number`` of the log, as publish() writes it (``received``: now by default)."""
    received = time.time() if received is None else received
    entry = {"kind": kind, "value": value, "received": received}
    entry["mac"] = revocations.entry_mac(number, kind, value, received)
    caches["default"].set(revocations.ENTRY_PREFIX + str(number), entry, timeout=300)


def count(number: int) -> None:
    """The log's counter, as publish()'s incr leaves it."""
    caches["default"].set(revocations.COUNTER, number, timeout=None)


class LogTests(SimpleTestCase):
    """The revocation log in the shipped token cache (a directory); RedisLogTests runs them on Redis."""

    def setUp(self):
        self.here = Process()
        self.enterContext(self.here.running())
        self.reset()

    def reset(self):
        caches["default"].clear()
        self.here.tombstones.clear()
        self.here.local.clear()
        self.other = Process()

    def cache_everything(self):
        """Both processes hold every answer, in their local layer and in the shared cache."""
        asked = time.time()
        for token, claims in ANSWERS.items():
            cache.put(token, claims, asked)
        self.other.poll()  # the other process is running: it has read the log so far
        self.assertEqual(self.other.cached(), set(ANSWERS))
        self.assertEqual(self.here.cached(), set(ANSWERS))

    def test_each_revocation_evicts_what_it_names_here_and_in_another_process(self):
        for (kind, value), evicted in REVOCATIONS.items():
            with self.subTest(kind=kind):
                self.reset()
                self.cache_everything()

                revocations.publish(kind, value)
                self.assertEqual(self.here.cached(), set(ANSWERS) - evicted)
                self.other.poll()
                self.assertEqual(self.other.cached(), set(ANSWERS) - evicted)

    def test_a_token_revocation_deletes_the_shared_answer(self):
        cache.put("tok-a", ALICE, time.time())

        revocations.publish("token", hashlib.sha256(b"tok-a").hexdigest())

        self.assertIsNone(caches["default"].get(cache.key("tok-a")))

    def test_a_token_revocation_deletes_the_answers_of_both_signing_modes(self):
        # A replica that does not sign yet receives the notice, on the token cache of one that does.
        with override_settings(RESOURCE_SERVER_INTROSPECTION_SIGNED=True):
            cache.put("tok-a", ALICE, time.time())
            signed = cache.key("tok-a")
        cache.put("tok-a", ALICE, time.time())

        revocations.publish("token", hashlib.sha256(b"tok-a").hexdigest())

        self.assertIsNone(caches["default"].get(signed))
        self.assertIsNone(caches["default"].get(cache.key("tok-a")))

    @override_settings(RESOURCE_SERVER_INTROSPECTION_SIGNED=True)
    def test_each_revocation_evicts_signed_answers_here_and_in_another_process(self):
        self.test_each_revocation_evicts_what_it_names_here_and_in_another_process()

    def test_an_answer_asked_after_the_revocation_is_trusted(self):
        revocations.publish("sub", "alice")
        later = time.time() + revocations.SKEW + 0.01
        with mock.patch("time.time", return_value=later):
            cache.put("tok-a", ALICE, later)
            self.assertEqual(cache.get("tok-a"), ALICE)

    def test_an_answer_another_process_asked_within_the_skew_before_it_is_not(self):
        revocations.publish("sub", "alice")
        with self.other.running():  # another replica, its clock ahead
            cache.put("tok-a", ALICE, time.time() + revocations.SKEW - 0.5)

        self.assertIsNone(cache.get("tok-a"))

    def test_an_answer_this_process_asked_after_it_learned_a_revocation_is_trusted_at_once(self):
        # Within the skew, yet asked after the notice on this process's own clock: the AS answered
        # as things are now. Distrusting it would send every request of that client to the AS.
        revocations.publish("client_id", "app-1")
        asked = time.time() + 0.001
        with mock.patch("time.time", return_value=asked):
            cache.put("tok-a", ALICE, asked)

        self.assertEqual(cache.get("tok-a"), ALICE)
        self.other.poll()
        with self.other.running():  # read from the shared cache by a process that did not ask
            self.assertIsNone(cache.get("tok-a"))

    def test_another_process_trusts_its_own_answers_asked_after_it_read_the_revocation(self):
        revocations.publish("sub", "alice")
        self.other.poll()
        with self.other.running():
            cache.put("tok-a", ALICE, time.time() + 0.001)
            self.assertEqual(cache.get("tok-a"), ALICE)

    def test_introspect_then_notice_then_put_leaves_no_trusted_answer(self):
        calls = []

        def introspect(token):
            calls.append(token)
            if len(calls) == 1:
                revocations.publish("sub", "alice")  # the notice arrives while the AS answers
            return ALICE

        self.assertEqual(cache.answer("tok-a", introspect), ALICE)
        self.assertIsNone(cache.get("tok-a"))
        cache.answer("tok-a", introspect)
        self.assertEqual(len(calls), 2)

    def test_a_process_that_starts_loads_the_revocations_of_the_window(self):
        revocations.publish("sub", "alice")
        revocations.publish("client_id", "app-3")
        self.cache_everything_in(self.other, asked=time.time() - 1)

        self.other.poll()  # its first poll: everything in the log

        self.assertEqual(self.other.cached(), {"tok-b"})

    def cache_everything_in(self, process, asked):
        with process.running():
            for token, claims in ANSWERS.items():
                cache.local.put(cache.key(token), claims, asked + 60, asked)

    def test_loading_reads_back_in_batches_past_holes_until_an_entry_older_than_the_window(self):
        count(5)
        write(1, "sub", "user-1")  # below the old entry: not read
        write(2, "sub", "user-2")
        write(3, "sub", "user-3", received=time.time() - revocations.keep_seconds() - 1)
        write(5, "sub", "user-5")  # 4: its writer failed after incr (the AS retried as 5)
        with mock.patch.object(revocations, "BATCH", 2):
            self.other.poll()

        self.assertEqual({value for _, value in self.other.tombstones}, {"user-2", "user-5"})

    def test_a_process_that_starts_reads_the_revocations_below_a_hole(self):
        # Entry 2's writer failed after incr: a process started afterwards still learns entry 1.
        count(3)
        write(1, "sub", "bob")
        write(3, "token", "a" * 64)

        self.other.poll()

        self.assertEqual(set(self.other.tombstones), {("sub", "bob"), ("token", "a" * 64)})

    def test_a_process_that_starts_while_an_entry_is_written_applies_it_once_written(self):
        count(2)
        write(1, "sub", "alice")
        self.other.poll()
        write(2, "client_id", "app-2")  # its writer was between incr and set

        self.other.poll()

        self.assertIn(("client_id", "app-2"), self.other.tombstones)

    def test_a_missing_entry_holds_back_no_later_one(self):
        self.other.poll()
        count(2)
        write(2, "sub", "carol")  # entry 1: its writer failed after incr, or is still writing

        self.other.poll()

        self.assertEqual(list(self.other.tombstones), [("sub", "carol")])

    def test_a_missing_entry_is_applied_when_written_within_the_second_then_skipped(self):
        self.other.poll()
        count(3)
        write(3, "sub", "carol")
        self.other.poll()
        write(1, "sub", "bob")  # a slow writer
        self.other.poll()
        self.assertEqual(set(self.other.tombstones), {("sub", "bob"), ("sub", "carol")})

        with (
            mock.patch("time.monotonic", return_value=time.monotonic() + revocations.MISSING_SECONDS),
            self.assertLogs("introspection.revocations", "WARNING") as logs,
        ):
            self.other.poll()
        write(2, "sub", "dave")  # too late: the caching window bounds what it missed
        self.other.poll()

        self.assertEqual(set(self.other.tombstones), {("sub", "bob"), ("sub", "carol")})
        self.assertIn("revocation log entry 2 never appeared; skipped", logs.output[0])

    def test_a_log_started_again_is_read_again_when_its_counter_caught_up(self):
        # Redis restarted empty, and a notice was published before this process's next poll.
        revocations.publish("token", "a" * 64)
        self.other.poll()
        self.cache_everything_in(self.other, asked=time.time())
        caches["default"].clear()
        revocations.publish("sub", "bob")  # number 1 again

        self.other.poll()

        self.assertIn(("sub", "bob"), self.other.tombstones)
        self.assertEqual(self.other.local.entries, {})

    def test_an_entry_this_server_did_not_write_is_ignored(self):
        # Whoever can write the cache, without RS_SECRET_KEY, cannot make every answer a miss for good.
        self.other.poll()
        count(2)
        forged = {"kind": "all", "value": "", "received": time.time() + 10**9, "mac": "0" * 64}
        caches["default"].set(revocations.ENTRY_PREFIX + "1", forged)
        revocations.publish("sub", "bob")  # number 3
        genuine = caches["default"].get(revocations.ENTRY_PREFIX + "3")
        caches["default"].set(revocations.ENTRY_PREFIX + "2", {**genuine, "value": "carol"})  # moved, changed

        with (
            mock.patch.object(revocations, "outage_log", ThrottledLog(revocations.log)),
            self.assertLogs("introspection.revocations", "WARNING") as logs,
        ):
            self.other.poll()

        self.assertEqual(list(self.other.tombstones), [("sub", "bob")])
        self.assertIn("revocation log entry 1 is not one this server wrote; ignored", logs.output[0])

    def test_a_revocation_received_ahead_of_this_clock_is_kept_from_no_later_than_now(self):
        self.other.poll()
        count(1)
        write(1, "sub", "bob", received=time.time() + 3600)  # a replica's clock an hour ahead

        self.other.poll()

        received, *_ = self.other.tombstones["sub", "bob"]
        self.assertLessEqual(received, time.time() + revocations.SKEW)

    def test_a_made_up_counter_costs_one_bounded_read(self):
        self.cache_everything()
        self.assertTrue(self.other.follower.loaded)
        count(10**18)
        shared = caches["default"]
        with mock.patch.object(type(shared), "get_many", autospec=True, side_effect=type(shared).get_many) as reads:
            self.other.poll()

        self.assertLessEqual(sum(len(call.args[1]) for call in reads.call_args_list), revocations.MAX_READ + 2)
        self.assertEqual(self.other.local.entries, {})  # what lies below the read could not be read
        revocations.publish("sub", "bob")  # the log goes on from there
        self.other.poll()
        self.assertIn(("sub", "bob"), self.other.tombstones)

    def test_a_flushed_cache_clears_the_local_layer_and_resyncs(self):
        self.cache_everything()
        revocations.publish("sub", "bob")
        self.other.poll()
        caches["default"].clear()  # an operator's flush, or Redis restarted empty

        self.other.poll()
        self.assertEqual(self.other.cached(), set())
        revocations.publish("sub", "carol")
        self.other.poll()
        self.assertIn(("sub", "carol"), self.other.tombstones)

    def test_entries_of_another_shape_are_ignored(self):
        revocations.publish("sub", "bob")
        for number, value in ((2, {"kind": "all"}), (3, "all"), (4, {"kind": "x", "value": "", "received": 1.0})):
            caches["default"].incr(revocations.COUNTER)
            caches["default"].set(revocations.ENTRY_PREFIX + str(number), value)

        self.other.poll()

        self.assertEqual(list(self.other.tombstones), [("sub", "bob")])

    def test_tombstones_are_kept_for_the_caching_windows_the_introspection_timeout_and_twice_the_skew(self):
        # An answer is stored up to INTROSPECTION_TIMEOUT after it was asked: the revocation outlives it.
        revocations.publish("sub", "bob")
        self.other.poll()
        keep = 60 + 2 + 5 + 2 * revocations.SKEW
        with mock.patch("time.time", return_value=time.time() + keep - 1):
            self.other.poll()
        self.assertTrue(self.other.tombstones)
        with mock.patch("time.time", return_value=time.time() + keep + 1):
            self.other.poll()
        self.assertFalse(self.other.tombstones)


class RedisLogTests(LogTests):
    """The same log on Redis, as under Compose (its incr, add and get_many through the JSON serializer)."""

    @classmethod
    def setUpClass(cls):
        if not shutil.which("redis-server"):
            raise unittest.SkipTest("redis-server is not installed")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        cls.redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
        )
        cls.addClassCleanup(cls.redis.wait)
        cls.addClassCleanup(cls.redis.terminate)
        settings = override_settings(CACHES={"default": token_cache(f"redis://127.0.0.1:{port}/0")})
        settings.enable()
        cls.addClassCleanup(settings.disable)
        deadline = time.monotonic() + 10
        while True:
            try:
                caches["default"].get("ping")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        super().setUpClass()


class FirstReadTests(SimpleTestCase):
    def test_no_answer_from_the_shared_cache_is_trusted_until_the_log_was_read(self):
        # A process whose first read of the log failed (a flaky cache) may not know of a revocation.
        caches["default"].clear()
        with Process().running():  # another process cached the answer
            cache.put("tok-a", ALICE, time.time())
        here = Process()
        self.enterContext(here.running())
        self.enterContext(mock.patch.object(revocations, "follower", here.follower))
        self.enterContext(mock.patch.object(revocations, "poller", revocations.Poller(here.follower)))
        self.enterContext(mock.patch("threading.Thread"))
        shared = type(caches["default"])
        with mock.patch.object(shared, "get_many", side_effect=ConnectionError("the token cache is down")):
            self.assertIsNone(cache.get("tok-a"))  # introspected instead

        here.follower.poll()  # the thread's next poll

        self.assertEqual(cache.get("tok-a"), ALICE)


class PollerTests(SimpleTestCase):
    @mock.patch.object(revocations, "outage_log", ThrottledLog(revocations.log))
    def test_it_survives_a_cache_outage(self):
        polls = []
        polled = threading.Event()

        def poll():
            polls.append(time.monotonic())
            if len(polls) <= 3:
                raise ConnectionError("the token cache is down")
            polled.set()
            raise SystemExit  # ends the thread quietly: the test has seen it poll again

        poller = revocations.Poller(mock.Mock(poll=poll))
        with self.assertLogs("introspection.revocations", "WARNING") as logs:
            poller.ensure_running()
            self.assertTrue(polled.wait(5))

        self.assertIn("token cache unavailable, revocations not read: ConnectionError", logs.output[0])
        self.assertEqual(len(logs.output), 1)  # throttled: one line for the outage

    def test_one_thread_per_process(self):
        follower = mock.Mock()
        poller = revocations.Poller(follower)
        with mock.patch("threading.Thread") as thread:
            poller.ensure_running()
            poller.ensure_running()
            self.assertEqual(thread.call_count, 1)
            with mock.patch("os.getpid", return_value=-1):  # a forked child
                poller.ensure_running()
            self.assertEqual(thread.call_count, 2)


def child(ready, go, done):
    """A forked process that follows the log from its own thread, as a gunicorn worker does."""
    asked = time.time()
    for token, claims in ANSWERS.items():
        cache.put(token, claims, asked)
    revocations.poller.pid = None  # inherited from the tests' process: this one has no thread yet
    cache.get("not-cached")  # the first read of the shared cache starts the poller
    ready.set()
    go.wait(10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and cache.get("tok-b") is not None:
        time.sleep(0.01)
    done.send({token for token in ANSWERS if cache.get(token) is not None})


@override_settings(RESOURCE_SERVER_LOCAL_CACHE_SECONDS=60)
class SecondProcessTests(SimpleTestCase):
    def test_a_revocation_reaches_another_process_within_its_polls(self):
        caches["default"].clear()
        context = multiprocessing.get_context("fork")
        ready, go = context.Event(), context.Event()
        receiving, sending = context.Pipe(duplex=False)
        process = context.Process(target=child, args=(ready, go, sending), daemon=True)
        process.start()
        self.addCleanup(process.join, 5)
        self.assertTrue(ready.wait(10))

        with Process().running():
            revocations.publish("sub", "bob")
        sent = time.monotonic()
        go.set()

        self.assertTrue(receiving.poll(10))
        self.assertEqual(receiving.recv(), {"tok-a", "tok-c"})
        self.assertLess(time.monotonic() - sent, 1)
