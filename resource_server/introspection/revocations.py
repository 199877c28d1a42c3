"""Revocations this API has learned (security_events.py), and their fan-out to every process and replica.

A revocation is ``(kind, value)``: a token (the SHA-256 of the token, as the
token cache keys it), a subject (``sub``), a client (``client_id``), or everything
(``all``, when the AS no longer serves this API), with the moment this API
learned it, ``received``. A cached answer is distrusted, so introspected again,
when a revocation names it and it was asked before ``received + SKEW``: "asked"
is the moment just before the introspection call that produced it, so an answer
that was on its way when the notice arrived (introspect, notice, then put) is
distrusted too. An answer this process asked for itself is compared with the
moment this process learned the revocation instead, on one clock: asked after
it, the AS answered as things are now, and it is trusted at once (otherwise
every request that the revocation names would go to the AS for SKEW).

One process receives the notice (RFC 8935 push). It appends the revocation to a
log in the token cache, which every process of the API shares (Redis for every
replica under Compose, else one directory): a counter and one entry per
revocation, each under an HMAC of its number and contents (the token cache is
outside this server's trust boundary, as cache.py says), and an epoch, a random
value that changes when the log starts again from 1 (a flushed or restarted
cache). Each process follows the log from a daemon thread, every POLL_SECONDS,
and until it has read it once trusts no answer from the shared cache. A
revocation is kept as a tombstone for as long as an answer asked before it may
still be cached anywhere: TOKEN_CACHING_SECONDS + LOCAL_CACHE_SECONDS +
INTROSPECTION_TIMEOUT (an answer is stored up to that long after it was asked)
+ 2 × SKEW.

A process reads at most MAX_READ entries per poll: more revocations than that
within the window (a made-up counter, or a burst far beyond what the AS sends)
make it drop its per-process answers and read the newest MAX_READ entries again.
"""

import hmac
import logging
import math
import os
import secrets
import threading
import time

from . import cache
from .conf import introspection_settings
from .throttled_log import ThrottledLog

log = logging.getLogger(__name__)
outage_log = ThrottledLog(log)

KINDS = ("token", "sub", "client_id", "all")
COUNTER = "introspection-revocations"
EPOCH = "introspection-revocations-epoch"
ENTRY_PREFIX = "introspection-revocation:"
SIGNING_SALT = "introspection.revocations"
# Replicas' clocks differ: "asked" on one and "received" on another are compared.
SKEW = 2.0
# How often each process reads the log: the propagation inside one API.
POLL_SECONDS = 0.1
# An entry counted but not written yet (its writer is between incr and set) is waited for this long.
MISSING_SECONDS = 1.0
# The log is read back in batches of this many entries. At start, a missing entry among the newest
# BATCH may be one being written (one per receiving thread at most): it is waited for too.
BATCH = 100
# Entries read per poll at most: a counter made up by whoever can write the cache costs no more.
MAX_READ = 1000


def keep_seconds() -> float:
    """How long a revocation matters: an answer asked before it may be cached that long."""
    settings = introspection_settings
    return settings.TOKEN_CACHING_SECONDS + settings.LOCAL_CACHE_SECONDS + settings.INTROSPECTION_TIMEOUT + 2 * SKEW


class Tombstones(dict):
    """``(kind, value)`` → (received, distrust answers asked before: from the shared cache, this process's own).

    Empty (the usual case), it costs a cache hit one truthiness test.
    """

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()

    def add(self, kind: str, value: str, received: float, learned: float) -> None:
        """``learned``: when this process learned it, on this process's clock."""
        after = received + SKEW
        new = (received, after, min(learned, after))
        with self.lock:
            old = self.get((kind, value))
            self[kind, value] = new if old is None else tuple(map(max, old, new))

    def prune(self, now: float) -> None:
        horizon = now - keep_seconds()
        with self.lock:
            for name in [name for name, (received, *_) in self.items() if received < horizon]:
                del self[name]

    def distrust(self, cache_key: str, claims: dict, asked: float, own: bool) -> bool:
        """True when a revocation names this answer and came after it was asked (``own``: by this process)."""
        which, get = (2 if own else 1), self.get  # straight lookups: this runs on every hit while any is kept
        for name in (
            ("all", ""),
            ("token", cache_key[-cache.HASH_CHARS :]),
            ("sub", claims.get("sub")),
            ("client_id", claims.get("client_id")),
        ):
            found = get(name)
            if found is not None and asked < found[which]:
                return True
        return False


tombstones = Tombstones()


def entry_mac(number: int, kind: str, value: str, received: float) -> str:
    return cache.mac(SIGNING_SALT, f"{number}\n{kind}\n{value}\n{received!r}")


def publish(kind: str, value: str) -> None:
    """Apply a revocation here and append it to the shared log, for every other process and replica.

    Raises what the token cache raises when it is down: the notice is then not
    fanned out, and its sender is told to retry.
    """
    received = time.time()
    tombstones.add(kind, value, received, received)
    if kind == "token":
        cache.forget_hash(value)
    shared = cache.shared_cache()
    try:
        number = shared.incr(COUNTER)
    except ValueError:  # no log yet (or the cache was flushed): Django's and diskcache's incr of a missing key
        shared.add(COUNTER, 0, timeout=None)
        number = shared.incr(COUNTER)
    entry = {"kind": kind, "value": value, "received": received, "mac": entry_mac(number, kind, value, received)}
    # Read back for a minute more than it matters: at start, an entry older than that ends the reading.
    shared.set(ENTRY_PREFIX + str(number), entry, timeout=math.ceil(keep_seconds()) + 60)


def authentic(number: int, entry) -> bool:
    """An entry this server wrote under ``number``."""
    return (
        isinstance(entry, dict)
        and entry.get("kind") in KINDS
        and isinstance(entry.get("value"), str)
        and isinstance(entry.get("received"), float)
        and isinstance(entry.get("mac"), str)
        and hmac.compare_digest(entry["mac"], entry_mac(number, entry["kind"], entry["value"], entry["received"]))
    )


def counter_of(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class Follower:
    """Reads the shared log into ``tombstones``: one per process (and more in tests)."""

    def __init__(self, into: Tombstones, local: cache.LocalLayer):
        self.tombstones = into
        self.local = local  # this process's answers, dropped when the log starts again
        self.epoch: str | None = None  # the log's epoch once read; None: not read yet
        self.seen = 0  # the highest entry number read
        self.pending: dict[int, float] = {}  # entries counted, not there yet → when to stop waiting (monotonic)

    @property
    def loaded(self) -> bool:
        return self.epoch is not None

    def poll(self) -> None:
        shared = cache.shared_cache()
        found = shared.get_many([COUNTER, EPOCH])
        counter, epoch = counter_of(found.get(COUNTER)), found.get(EPOCH)
        if not isinstance(epoch, str):  # a new log (or one that lost its epoch): any process names it
            new = secrets.token_hex(16)
            epoch = new if shared.add(EPOCH, new, timeout=None) else shared.get(EPOCH)
        if not self.loaded:
            self.load(shared, counter)
            self.epoch = epoch
        elif epoch != self.epoch or counter < self.seen or counter - self.seen + len(self.pending) > MAX_READ:
            # The log started again (revocations published meanwhile are gone with it), or holds more
            # than one read: what this process verified before may have been revoked.
            self.local.clear()
            self.load(shared, counter)
            self.epoch = epoch
        else:
            self.follow(shared, counter)
        self.tombstones.prune(time.time())

    def read(self, shared, numbers) -> tuple[list[int], float]:
        """Applies the entries ``numbers`` that are there: the numbers missing, and the oldest ``received`` read."""
        found = shared.get_many([ENTRY_PREFIX + str(number) for number in numbers])
        missing, oldest, now = [], math.inf, time.time()
        for number in numbers:
            entry = found.get(ENTRY_PREFIX + str(number))
            if entry is None:
                missing.append(number)
            elif authentic(number, entry):
                # A replica's clock more than SKEW ahead is no reason to keep it longer.
                received = min(entry["received"], now + SKEW)
                self.tombstones.add(entry["kind"], entry["value"], received, now)
                oldest = min(oldest, received)
            else:
                outage_log.warning("revocation log entry %s is not one this server wrote; ignored", number)
        return missing, oldest

    def load(self, shared, counter: int) -> None:
        """The revocations of the window, newest first, past any hole, until an entry older than the window."""
        horizon, lowest = time.time() - keep_seconds(), max(counter - MAX_READ, 0)
        self.pending, top = {}, counter
        while top > lowest:
            numbers = range(top, max(top - BATCH, lowest), -1)
            missing, oldest = self.read(shared, numbers)
            if top == counter:
                self.pending = dict.fromkeys(missing, time.monotonic() + MISSING_SECONDS)
            if oldest < horizon:
                break
            top = numbers[-1] - 1
        self.seen = counter

    def follow(self, shared, counter: int) -> None:
        """New entries applied as they come; one not there yet does not hold back the next ones."""
        numbers = [*self.pending, *range(self.seen + 1, counter + 1)]
        if not numbers:
            return
        missing, _ = self.read(shared, numbers)
        now, pending = time.monotonic(), self.pending
        self.pending, skipped = {}, []
        for number in missing:
            deadline = pending.get(number, now + MISSING_SECONDS)
            if now < deadline:
                self.pending[number] = deadline
            else:
                skipped.append(number)
        if skipped:  # one line per poll, however many: a made-up counter skips a hundred at once
            more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
            log.warning("revocation log entry %s%s never appeared; skipped", skipped[0], more)
        self.seen = counter


follower = Follower(tombstones, cache.local)


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
