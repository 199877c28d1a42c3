"""Revocations this API has learned (security_events.py), and their fan-out to every process and replica.

A revocation is ``(kind, value)``: a token (the SHA-256 of the token, as the
token cache keys it), a subject (``sub``), a client (``client_id``), or everything
(``all``, when the AS no longer serves this API), with the moment this API
learned it, ``received``. A cached answer is distrusted, so introspected again,
when a revocation names it and it was asked before ``received + SKEW``: "asked"
is the moment just before the introspection call that produced it, so an answer
that was on its way when the notice arrived (introspect, notice, then put) is
distrusted too.

One process receives the notice (RFC 8935 push). It appends the revocation to a
log in the token cache, which every process of the API shares (Redis for every
replica under Compose, else one directory): a counter and one entry per
revocation. Each process follows the log from a daemon thread, every
POLL_SECONDS. A revocation is kept as a tombstone for as long as an answer asked
before it may still be cached anywhere: TOKEN_CACHING_SECONDS +
LOCAL_CACHE_SECONDS + 2 × SKEW.
"""

import logging
import os
import threading
import time

from . import cache
from .conf import introspection_settings
from .throttled_log import ThrottledLog

log = logging.getLogger(__name__)
outage_log = ThrottledLog(log)

KINDS = ("token", "sub", "client_id", "all")
COUNTER = "introspection-revocations"
ENTRY_PREFIX = "introspection-revocation:"
# Replicas' clocks differ: "asked" on one and "received" on another are compared.
SKEW = 2.0
# How often each process reads the log: the propagation inside one API.
POLL_SECONDS = 0.1
# An entry counted but not written yet (its writer is between incr and set) is waited for this long.
MISSING_SECONDS = 1.0
# At start, the log is read back in batches of this many entries.
BATCH = 100
NEVER = float("-inf")


def keep_seconds() -> float:
    """How long a revocation matters: an answer asked before it may be cached that long."""
    return introspection_settings.TOKEN_CACHING_SECONDS + introspection_settings.LOCAL_CACHE_SECONDS + 2 * SKEW


class Tombstones(dict):
    """``(kind, value)`` → received. Empty (the usual case), it costs a cache hit one truthiness test."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()

    def add(self, kind: str, value: str, received: float) -> None:
        with self.lock:
            if received > self.get((kind, value), NEVER):
                self[kind, value] = received

    def prune(self, now: float) -> None:
        horizon = now - keep_seconds()
        with self.lock:
            for name in [name for name, received in self.items() if received < horizon]:
                del self[name]

    def distrust(self, cache_key: str, claims: dict, asked: float) -> bool:
        """True when a revocation names this answer and came after it was asked (less SKEW)."""
        after, get = asked - SKEW, self.get  # straight lookups: this runs on every hit while any revocation is kept
        return (
            get(("all", ""), NEVER) > after
            or get(("token", cache_key[len(cache.KEY_PREFIX) :]), NEVER) > after
            or get(("sub", claims.get("sub")), NEVER) > after
            or get(("client_id", claims.get("client_id")), NEVER) > after
        )


tombstones = Tombstones()


def publish(kind: str, value: str) -> None:
    """Apply a revocation here and append it to the shared log, for every other process and replica.

    Raises what the token cache raises when it is down: the notice is then not
    fanned out, and its sender is told to retry.
    """
    received = time.time()
    tombstones.add(kind, value, received)
    if kind == "token":
        cache.forget_key(cache.KEY_PREFIX + value)
    shared = cache.shared_cache()
    try:
        number = shared.incr(COUNTER)
    except ValueError:  # no log yet (or the cache was flushed): Django's and diskcache's incr of a missing key
        shared.add(COUNTER, 0, timeout=None)
        number = shared.incr(COUNTER)
    entry = {"kind": kind, "value": value, "received": received}
    seconds = introspection_settings.TOKEN_CACHING_SECONDS + introspection_settings.LOCAL_CACHE_SECONDS + 60
    shared.set(ENTRY_PREFIX + str(number), entry, timeout=seconds)


def is_entry(entry) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("kind") in KINDS
        and isinstance(entry.get("value"), str)
        and isinstance(entry.get("received"), float)
    )


class Follower:
    """Reads the shared log into ``tombstones``: one per process (and a second one in tests)."""

    def __init__(self, into: Tombstones):
        self.tombstones = into
        self.seen: int | None = None  # the last entry applied; None: not loaded yet
        self.missing_since: float | None = None

    def apply(self, number: int, entry) -> None:
        if is_entry(entry):
            self.tombstones.add(entry["kind"], entry["value"], entry["received"])
        else:
            outage_log.warning("revocation log entry %s is not in this server's format; ignored", number)

    def poll(self) -> None:
        shared = cache.shared_cache()
        counter = shared.get(COUNTER) or 0
        if not isinstance(counter, int):
            counter = 0
        if self.seen is not None and counter < self.seen:
            # The cache was flushed: what this process verified from it may have been revoked meanwhile.
            cache.local.clear()
            self.seen = None
        if self.seen is None:
            self.load(shared, counter)
        elif counter > self.seen:
            self.follow(shared, counter)
        self.tombstones.prune(time.time())

    def load(self, shared, counter: int) -> None:
        """At start, the revocations of the last window: back from the counter until an entry is gone."""
        top = counter
        while top > 0:
            numbers = range(top, max(top - BATCH, 0), -1)
            found = shared.get_many([ENTRY_PREFIX + str(number) for number in numbers])
            for number in numbers:
                entry = found.get(ENTRY_PREFIX + str(number))
                if entry is None:
                    top = 0
                    break
                self.apply(number, entry)
            else:
                top -= BATCH
        self.seen = counter

    def follow(self, shared, counter: int) -> None:
        numbers = range(self.seen + 1, counter + 1)
        found = shared.get_many([ENTRY_PREFIX + str(number) for number in numbers])
        for number in numbers:
            entry = found.get(ENTRY_PREFIX + str(number))
            if entry is None:
                now = time.monotonic()
                self.missing_since = self.missing_since or now
                if now - self.missing_since < MISSING_SECONDS:
                    return  # its writer may still be writing it: next poll
                log.warning("revocation log entry %s never appeared; skipped", number)
            else:
                self.apply(number, entry)
            self.missing_since = None
            self.seen = number


follower = Follower(tombstones)


class Poller:
    """This process's thread that follows the log, started on first use and again in a forked child."""

    def __init__(self, follower: Follower):
        self.follower = follower
        self.pid: int | None = None
        self.lock = threading.Lock()

    def ensure_running(self) -> None:
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid != os.getpid():
                # The log's window is read before this process trusts its first answer from the shared cache.
                self.poll()
                threading.Thread(target=self.run, name="revocations", daemon=True).start()
                self.pid = os.getpid()

    def poll(self) -> None:
        try:
            self.follower.poll()
        except Exception as error:  # a cache outage: keep polling, the entries wait in the log
            outage_log.warning("token cache unavailable, revocations not read: %s", type(error).__name__)

    def run(self) -> None:
        while True:
            time.sleep(POLL_SECONDS)
            self.poll()


poller = Poller(follower)
