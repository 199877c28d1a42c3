"""Caching introspection results: a small per-process layer in front of Django's
cache (Redis under Compose, else a directory that every worker of the resource
server shares).

RFC 7662 §4: a cached answer MUST NOT outlive the token's ``exp``, and the cache
lifetime is the window in which a revoked token still works. DOT 3.4.1 keeps
answers for ten hours by default and treats ``0`` as "reject everything"
(DOT#970); here ``0`` means "introspect every request". Keys are hashes of the
token, so tokens appear in clear in neither keys nor logs.

The cache is outside the resource server's trust boundary: an entry carries an
HMAC, keyed by RS_SECRET_KEY, of the cache key, the answer and the moment the
entry stops being reusable. Whoever can write to the cache without holding the
secret can neither forge an answer, nor move another token's answer to their
own token's key, nor keep an answer past its lifetime: such an entry is a miss,
and the token is introspected again.

Each entry also carries the moment the answer was asked for ("asked", under the
HMAC too): a revocation notice (revocations.py) distrusts every cached answer it
names that was asked before it arrived, in both layers and in every process. The
per-process layer also remembers which answers this process asked for itself:
those it asked after it learned of a revocation are trusted at once.

The shared cache costs a hit a Redis round trip or an SQLite read, then the HMAC
and the JSON. The per-process layer keeps the answers this process has verified
for RESOURCE_SERVER_LOCAL_CACHE_SECONDS at most, and never past the shared
entry's own end (so never past ``exp``): a hit there is a dictionary lookup. A
deletion from the shared cache (a revocation, an operator's flush) therefore
reaches every process within RESOURCE_SERVER_LOCAL_CACHE_SECONDS; ``forget()``
deletes from both layers at once in this process.

An API that requires signed answers (RESOURCE_SERVER_INTROSPECTION_SIGNED, RFC
9701) keeps them under keys of their own (SIGNED_KEY_PREFIX), in both layers: a
plain answer, which anything between the servers could have written, cached
before signing was turned on (the shared cache outlives restarts) or by a
replica that does not sign yet (on the same cache), is never read as one the AS
signed. The prefix is chosen when the settings are read, not on each hit.

A token that no process has cached is introspected once for the whole API, not
once per thread, worker or replica that meets it at the same moment (a burst of
requests with a new token, or every request at the end of a caching window):
``answer()`` lets one thread of each process ask, and one process of the API,
the one that adds the token's lock entry to the shared cache; the others wait
for the answer it stores (single flight).
"""

import contextlib
import functools
import hashlib
import hmac
import json
import logging
import math
import threading
import time
from collections.abc import Callable

from cachetools import TLRUCache
from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from . import metrics
from .cache_backends import SharedDiskCache, UntrustedCacheEntry
from .conf import introspection_settings
from .response import is_introspection_response
from .throttled_log import ThrottledLog

log = logging.getLogger(__name__)
cache_outage_log = ThrottledLog(log)
untrusted_entry_log = ThrottledLog(log)

KEY_PREFIX = "introspection:"
SIGNED_KEY_PREFIX = "introspection-signed:"
# Every key ends with the token's SHA-256 in hex: the name a revocation gives the token (revocations.py).
HASH_CHARS = 64
SIGNING_SALT = "introspection.cache"
# The per-process layer's bound: past it the least recently used answer goes
# (and is read from the shared cache again). An answer is about a kilobyte.
LOCAL_ENTRIES = 10_000


class LocalLayer:
    """Verified answers of this process, each kept until its own moment (TLRUCache's time-to-use).

    gthread workers serve requests on several threads: cachetools' caches are not
    thread-safe, so every access holds the lock. Answers are kept as their JSON
    text and parsed on each hit: a view that changes its token's claims, nested
    values included, changes no other request's.
    """

    def __init__(self, maxsize: int = LOCAL_ENTRIES, timer=time.monotonic):
        # A value is (the claims' JSON, seconds to keep them, when they were asked for,
        # whether this process asked); the seconds count from when it is stored.
        self.entries = TLRUCache(maxsize, ttu=lambda _key, value, now: now + value[1], timer=timer)
        self.lock = threading.Lock()
        # Counts deletions: an answer read from the shared cache before a forget()
        # that ran meanwhile on another thread is not stored here afterwards.
        self.generation = 0

    def get(self, cache_key: str) -> tuple[dict, float, bool] | None:
        """The claims kept under ``cache_key``, when they were asked for, and whether this process asked."""
        with self.lock:
            value = self.entries.get(cache_key)
        return None if value is None else (json.loads(value[0]), value[2], value[3])

    def put(
        self, cache_key: str, claims: dict, until: float, asked: float, own: bool = False, generation: int | None = None
    ) -> None:
        seconds = min(introspection_settings.LOCAL_CACHE_SECONDS, until - time.time())
        if seconds > 0:
            text = json.dumps(claims, separators=(",", ":"))
            with self.lock:
                if generation is None or generation == self.generation:
                    self.entries[cache_key] = (text, seconds, asked, own)

    def delete(self, cache_key: str) -> None:
        with self.lock:
            self.generation += 1
            self.entries.pop(cache_key, None)

    def clear(self) -> None:
        with self.lock:
            self.generation += 1
            self.entries.clear()


local = LocalLayer()


# The keys of this API's answers, signed ones apart from plain ones: chosen once the settings
# are checked (IntrospectionConfig.ready), not at import, which comes before (config/wsgi.py)
# and would turn a configuration error into a traceback instead of its one line.
key_prefix: str | None = None


def choose_key_prefix() -> None:
    global key_prefix
    key_prefix = SIGNED_KEY_PREFIX if introspection_settings.INTROSPECTION_SIGNED else KEY_PREFIX


def forget_local_answers(*, setting: str, **kwargs) -> None:
    """Settings changed (``override_settings`` in tests): answers kept under the old ones are not reused."""
    if setting.startswith("RESOURCE_SERVER_") or setting in ("CACHES", "SECRET_KEY"):
        local.clear()
    if setting == "RESOURCE_SERVER_INTROSPECTION_SIGNED":
        with contextlib.suppress(ImproperlyConfigured):  # a bad value is refused where it is read
            choose_key_prefix()


setting_changed.connect(forget_local_answers)


def shared_cache():
    return caches[introspection_settings.CACHE_ALIAS]


def key(token: str) -> str:
    return key_prefix + hashlib.sha256(token.encode()).hexdigest()


def lifetime(claims: dict) -> int:
    """Whole seconds to keep ``claims``: never past ``exp``."""
    seconds = (
        introspection_settings.TOKEN_CACHING_SECONDS
        if claims["active"]
        else introspection_settings.NEGATIVE_CACHING_SECONDS
    )
    exp = claims.get("exp")
    if exp is not None:
        seconds = min(seconds, math.floor(exp - time.time()))
    return max(seconds, 0)


def prepare() -> None:
    """Create the token cache's storage before the first request.

    diskcache creates its SQLite files on first use, which took a third of a
    second (measured) that the first request would wait. gunicorn preloads the
    application in its master, so this runs once, before the workers fork; the
    master then closes its connections, which no worker may inherit (SQLite
    connections do not survive a fork).
    """
    token_cache = shared_cache()
    if isinstance(token_cache, SharedDiskCache):
        token_cache.release()


@functools.lru_cache(maxsize=4)
def signing_key(salt: str, secret: str) -> bytes:
    # Derived as django.utils.crypto.salted_hmac derives its key, once instead of
    # on every hit (salted_hmac cost a hit 16 µs of its 25, measured).
    return hashlib.sha256((salt + secret).encode()).digest()


def mac(salt: str, message: str) -> str:
    """HMAC-SHA256 of ``message`` under RS_SECRET_KEY, with a salt of its own for each kind of cache entry."""
    return hmac.digest(signing_key(salt, settings.SECRET_KEY), message.encode(), "sha256").hex()


def signature(cache_key: str, until: float, asked: float, text: str) -> str:
    return mac(SIGNING_SALT, f"{cache_key}\n{until!r}\n{asked!r}\n{text}")


def entry(cache_key: str, claims: dict, until: float, asked: float) -> dict:
    text = json.dumps(claims, separators=(",", ":"))
    return {"claims": text, "until": until, "asked": asked, "mac": signature(cache_key, until, asked, text)}


def verified(cache_key: str, cached) -> tuple[dict, float, float] | None:
    """The answer in an entry this server wrote under ``cache_key``, its end and when it was asked for.

    None when stale or untrusted.
    """
    fields = cached if isinstance(cached, dict) else {}
    text, until, asked, tag = fields.get("claims"), fields.get("until"), fields.get("asked"), fields.get("mac")
    if not (isinstance(text, str) and isinstance(until, float) and isinstance(asked, float) and isinstance(tag, str)):
        untrusted_entry_log.warning("token cache entry is not in this server's format; introspecting")
        return None
    if until <= time.time():
        return None  # the store kept it a moment longer than its lifetime
    if not hmac.compare_digest(tag, signature(cache_key, until, asked, text)):
        untrusted_entry_log.warning("token cache entry failed its integrity check; introspecting")
        return None
    claims = json.loads(text)
    # Checked again: what this server accepts may have narrowed since it wrote the entry.
    return (claims, until, asked) if is_introspection_response(claims) else None


def get(token: str) -> dict | None:
    return lookup(token)[0]


def lookup(token: str) -> tuple[dict | None, str | None]:
    """The cached answer for ``token`` and the layer that kept it (metrics.LOCAL or SHARED); (None, None) on a miss."""
    cache_key = key(token)
    found = local.get(cache_key)
    if found is not None:
        claims, asked, own = found
        # The hot path: without revocations in the window, one truthiness test.
        if revocations.tombstones and revocations.tombstones.distrust(cache_key, claims, asked, own):
            return None, None
        return claims, metrics.LOCAL
    revocations.poller.ensure_running()
    if not revocations.follower.loaded:
        return None, None  # the revocation log is unread: an answer from the shared cache may have been revoked
    generation = local.generation
    try:
        cached = shared_cache().get(cache_key)
    except UntrustedCacheEntry as error:
        untrusted_entry_log.warning("token cache entry is %s; introspecting", error)
        return None, None
    except Exception as error:  # any backend's outage: introspect instead (not an auth failure)
        cache_outage_log.warning("token cache unavailable, introspecting: %s", type(error).__name__)
        return None, None
    found = None if cached is None else verified(cache_key, cached)
    if found is None or (
        revocations.tombstones and revocations.tombstones.distrust(cache_key, found[0], found[2], own=False)
    ):
        return None, None
    local.put(cache_key, *found, generation=generation)
    return found[0], metrics.SHARED


def put(token: str, claims: dict, asked: float) -> None:
    """Keep ``claims``, the answer to an introspection call made at ``asked`` (time.time() just before it)."""
    seconds = lifetime(claims)
    if seconds <= 0:
        return
    cache_key = key(token)
    until = time.time() + seconds
    # Kept in this process even when the shared cache is down: for LOCAL_CACHE_SECONDS
    # at most, the AS is then not asked on every request.
    local.put(cache_key, claims, until, asked, own=True)
    try:
        shared_cache().set(cache_key, entry(cache_key, claims, until, asked), timeout=seconds)
    except Exception as error:  # see get()
        cache_outage_log.warning("token cache unavailable, not caching: %s", type(error).__name__)


def forget(token: str) -> None:
    """Stop reusing the answer for ``token``: gone from this process's layer and from the shared cache.

    Other processes may still reuse it from their own layer for LOCAL_CACHE_SECONDS at most.
    """
    forget_key(key(token))


def forget_hash(token_hash: str) -> None:
    """forget() for the token of this hash, signed answers and plain (a replica of the other mode reads them)."""
    for prefix in (KEY_PREFIX, SIGNED_KEY_PREFIX):
        forget_key(prefix + token_hash)


def forget_key(cache_key: str) -> None:
    local.delete(cache_key)
    try:
        shared_cache().delete(cache_key)
    except Exception as error:  # see get(); the entry ends by itself at its lifetime
        cache_outage_log.warning("token cache unavailable, not forgetting: %s", type(error).__name__)


# --- Single flight: one introspection per token for every process of the API ---

LOCK_PREFIX = "introspection-lock:"
# How often a process waiting for another's answer looks for it: an introspection
# took 8 to 9 ms (make bench), so a waiter is served a few ms after the answer lands.
POLL_SECONDS = 0.005
_flights: dict[str, list] = {}  # cache key → [its lock, how many threads use it]
_flights_lock = threading.Lock()


@contextlib.contextmanager
def one_thread_at_a_time(cache_key: str):
    """Threads of this process asking about the same token go one after the other."""
    with _flights_lock:
        flight = _flights.setdefault(cache_key, [threading.Lock(), 0])
        flight[1] += 1
    try:
        with flight[0]:
            yield
    finally:
        with _flights_lock:
            flight[1] -= 1
            if not flight[1]:
                del _flights[cache_key]


def take_lock(lock_key: str) -> bool:
    """True when this process is the one to introspect (or the shared cache is down: each process asks)."""
    # Held no longer than an introspection may take: a process that dies meanwhile blocks nobody for long.
    seconds = math.ceil(introspection_settings.INTROSPECTION_TIMEOUT) + 1
    try:
        return shared_cache().add(lock_key, 1, timeout=seconds)
    except Exception:  # an outage: get() has logged it
        return True


def release_lock(lock_key: str) -> None:
    with contextlib.suppress(Exception):  # the lock ends by itself at its timeout
        shared_cache().delete(lock_key)


def lock_held(lock_key: str) -> bool:
    try:
        return shared_cache().get(lock_key) is not None
    except Exception:  # an outage: stop waiting and ask
        return False


def stored_by_another_process(token: str, lock_key: str) -> dict | None:
    """The answer the process holding the lock stores, once it has; None if it gives up or stores none."""
    deadline = time.monotonic() + introspection_settings.INTROSPECTION_TIMEOUT
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        claims = get(token)
        if claims is not None or not lock_held(lock_key):
            return claims if claims is not None else get(token)
    return None


def answer(token: str, introspect: Callable[[str], dict]) -> dict:
    """The answer for ``token``: cached, or from ``introspect`` run once for the whole API.

    A process that finds another one asking waits for the answer it stores, at
    most RESOURCE_SERVER_INTROSPECTION_TIMEOUT, then asks itself: an answer that
    is not cached (inactive, or caching off), the other process failing, or a lock
    entry that someone else wrote into the cache, costs a wait, never a wrong answer.
    """
    claims, layer = lookup(token)
    # Once per request: the lookups of the single flight below are not counted.
    metrics.token_cache_lookup(layer)
    if claims is not None:
        return claims
    if introspection_settings.TOKEN_CACHING_SECONDS == 0:
        return introspect(token)  # no window to share: every request asks
    cache_key = key(token)
    with one_thread_at_a_time(cache_key):
        claims = get(token)  # another thread of this process may have asked meanwhile
        if claims is not None:
            return claims
        lock_key = LOCK_PREFIX + cache_key
        if take_lock(lock_key):
            try:
                return introspected(token, introspect)
            finally:
                release_lock(lock_key)
        claims = stored_by_another_process(token, lock_key)
        return claims if claims is not None else introspected(token, introspect)


def introspected(token: str, introspect: Callable[[str], dict]) -> dict:
    # Before the call: a revocation that arrives while it runs distrusts its answer
    # (introspect, notice, then put would otherwise keep a revoked token's answer).
    asked = time.time()
    claims = introspect(token)
    put(token, claims, asked)
    return claims


# Last: revocations.py's follower keeps this module's per-process layer (``local``), to clear it on a resync.
from . import revocations  # noqa: E402
