"""Review: ways the revocation log lets a process miss or delay a revocation."""

import time
from unittest import mock

from django.core.cache import caches
from django.test import SimpleTestCase
from jwcrypto.jwk import JWK

from introspection import cache, jwks, revocations


def entry(kind: str, value: str) -> dict:
    return {"kind": kind, "value": value, "received": time.time()}


class LogHoleTests(SimpleTestCase):
    def setUp(self):
        self.shared = caches["default"]
        self.shared.clear()
        self.addCleanup(self.shared.clear)
        self.tombstones = revocations.Tombstones()
        self.follower = revocations.Follower(self.tombstones)

    def write(self, number: int, kind: str, value: str) -> None:
        self.shared.set(revocations.ENTRY_PREFIX + str(number), entry(kind, value), timeout=300)

    def test_a_new_process_keeps_the_revocations_below_a_hole_in_the_log(self):
        # publish() counted entry 2, then its set() failed (the receiver answered 503, the AS
        # retried as entry 3). A process started afterwards (a restarted worker, a new replica)
        # must still learn entry 1: it trusts the shared cache's answers for bob otherwise.
        self.shared.set(revocations.COUNTER, 3, timeout=None)
        self.write(1, "sub", "bob")
        self.write(3, "token", "a" * 64)
        self.follower.poll()
        self.assertIn(("sub", "bob"), self.tombstones)

    def test_a_process_starting_while_an_entry_is_written_applies_it(self):
        # Another process is between incr() and set() when this one starts.
        self.shared.set(revocations.COUNTER, 2, timeout=None)
        self.write(1, "sub", "alice")
        self.follower.poll()
        self.write(2, "client_id", "app-2")  # the writer finishes
        self.follower.poll()
        self.assertIn(("client_id", "app-2"), self.tombstones)

    def test_an_entry_never_written_holds_back_no_later_revocation(self):
        # Entry 1's writer failed after incr (503 to the AS, which retried as entry 2): entry 2 is
        # in the log, yet every other process applies it only once entry 1 was waited for 1 s.
        self.follower.poll()  # running, log empty
        self.shared.set(revocations.COUNTER, 2, timeout=None)
        self.write(2, "sub", "carol")
        started = time.monotonic()
        while ("sub", "carol") not in self.tombstones and time.monotonic() - started < 2:
            self.follower.poll()
            time.sleep(revocations.POLL_SECONDS)
        self.assertLess(time.monotonic() - started, 0.5, "entry 2 applied only after entry 1's 1 s wait")

    def test_a_revocation_published_after_the_cache_restarted_reaches_a_running_process(self):
        # Compose's Redis keeps nothing on disk: a restart empties the log. The AS's retry of a
        # notice refused with 503 during the outage can land before this process's next poll (every
        # 0.1 s). A process that had followed one revocation (seen = 1) then finds the counter at 1
        # again, reads no flush, waits for a counter above 1, and trusts bob's answers cached since
        # the restart for the whole caching window.
        self.shared.set(revocations.COUNTER, 1, timeout=None)
        self.write(1, "token", "a" * 64)
        self.follower.poll()
        self.shared.clear()  # Redis restarted
        self.shared.set(revocations.COUNTER, 1, timeout=None)  # publish(): add(0) then incr
        self.write(1, "sub", "bob")
        self.follower.poll()
        self.assertIn(("sub", "bob"), self.tombstones)

    def test_an_entry_the_rs_did_not_write_is_not_applied(self):
        # The token cache is outside the RS's trust boundary ("an HMAC on every entry"), yet a log
        # entry carries none: one write (with no secret) of an "all" revocation received in a
        # far future distrusts every cached answer of every process for good (prune() keeps it),
        # so every request is introspected: the bulk eviction a forged notice may not cause.
        self.follower.poll()
        self.shared.set(revocations.COUNTER, 1, timeout=None)
        forged = {"kind": "all", "value": "", "received": time.time() + 10**9}
        self.shared.set(revocations.ENTRY_PREFIX + "1", forged, timeout=300)
        self.follower.poll()
        self.assertNotIn(("all", ""), self.tombstones)


class KeyRotationTests(SimpleTestCase):
    def test_a_notice_signed_with_a_new_key_within_the_refetch_interval_is_retried_not_refused(self):
        # The AS restarts with a new OpenID Connect key 5 s after this process fetched its JWKS
        # (or anyone posted a made-up kid: one POST every 10 s keeps the slot used). The first
        # notice under the new kid gets None, so the receiver answers 400 invalid_key, which the
        # AS never retries: the notice is lost. JWKSUnavailable (a 503, retried) or the key would do.
        old, new = JWK.generate(kty="RSA", size=2048), JWK.generate(kty="RSA", size=2048)
        now = [1000.0]
        keys = jwks.KeySet(timer=lambda: now[0])
        with mock.patch.object(jwks, "fetch", return_value={"old": old}):
            self.assertIs(keys.key("old"), old)
        now[0] += 5
        with mock.patch.object(jwks, "fetch", return_value={"old": old, "new": new}):
            try:
                found = keys.key("new")
            except jwks.JWKSUnavailable:
                found = "retry later"
        self.assertIsNotNone(found, "a genuine notice refused for good (400 invalid_key)")


class AfterRevocationTests(SimpleTestCase):
    def test_an_answer_introspected_after_a_client_revocation_is_reused(self):
        # For SKEW (2 s) after a client_id, sub or "all" notice, an answer asked after it arrived is
        # still "asked before received + SKEW": every hit is a miss, every waiter of the single
        # flight introspects again itself, so every request of that client (all of them, for
        # "all") goes to the AS for 2 s. Only answers asked before the notice need distrust.
        tombstones = revocations.Tombstones()
        self.enterContext(mock.patch.object(revocations, "tombstones", tombstones))
        self.enterContext(mock.patch.object(cache, "local", cache.LocalLayer()))
        caches["default"].clear()
        tombstones.add("client_id", "app-1", time.time())
        time.sleep(0.05)
        asked = time.time()  # after the notice: the AS answered about the client as it is now
        cache.put("tok-fresh", {"active": True, "scope": "read", "client_id": "app-1", "sub": "alice"}, asked)
        self.assertIsNotNone(cache.get("tok-fresh"))
