"""Review: ways the revocation log lets a process miss or delay a revocation."""

import time

from django.core.cache import caches
from django.test import SimpleTestCase

from introspection import revocations


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
