"""The authorization server's signing keys, from its JWKS (RFC 7517 §5), by ``kid``.

Fetched from RESOURCE_SERVER_JWKS_URL and kept in this process for MAX_AGE_SECONDS:
past that, the next lookup fetches the set again, so a key the AS no longer
publishes (rotated out, or leaked and dropped) stops verifying within that time,
not at this process's restart; a failed fetch then verifies nothing (fail closed:
JWKSUnavailable, a 503). A key is looked for by the ``kid`` of a signed message's
header, which its sender chooses: an unknown kid fetches the set again (the AS
rotated its key), but at most once per REFETCH_SECONDS, so messages with made-up
kids cannot make this server call the AS more than that: one JWKS fetch per
REFETCH_SECONDS per process, whatever is posted, stale keys or not. Within that
interval an unknown kid is JWKSUnavailable, not unknown: the AS's first notice
under a key it has just rotated to is answered 503 and retried (RFC 8935 senders
retry 5xx, never a 400), and its retries, spread over about 8 s, reach a refetch.
The same keys verify the AS's signed introspection answers (signed_response.py):
a client whose token met an answer under a kid this process does not know yet
gets 503 with Retry-After, longer than the interval.
"""

import logging
import math
import threading
import time

import requests
from django.core.signals import setting_changed
from jwcrypto.common import JWException
from jwcrypto.jwk import JWKSet

from .conf import introspection_settings
from .throttled_log import ThrottledLog

log = logging.getLogger(__name__)
outage_log = ThrottledLog(log)

# Shorter than the AS's retries of one notice (0.25 + 0.5 + 1 + 2 + 4 s), so that they reach a refetch.
REFETCH_SECONDS = 3.0
# How long fetched keys verify before the JWKS is fetched again: a key the AS dropped stops verifying
# within it. DOT's JWKS view lets caches keep it for an hour; five minutes costs one fetch per process.
MAX_AGE_SECONDS = 300.0
# After a failed fetch: the AS retries a notice within seconds, and its keys may be back by then.
RETRY_SECONDS = 1.0
# The JWKS of DOT's view is a few hundred bytes per key.
MAX_BYTES = 64 * 1024


class JWKSUnavailable(Exception):
    """The AS's keys could not be fetched: whether a message is genuine cannot be told now."""


def fetch() -> dict:
    """``kid`` → key, for the AS's signing keys (its JWKS, as DOT's view publishes it)."""
    try:
        response = requests.get(
            introspection_settings.JWKS_URL,
            headers={"Accept": "application/json"},
            timeout=introspection_settings.INTROSPECTION_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        outage_log.warning("JWKS fetch failed: %s", type(error).__name__)
        raise JWKSUnavailable() from error
    if response.status_code != 200 or len(response.content) > MAX_BYTES:
        outage_log.warning("JWKS fetch answered HTTP %s, %s bytes", response.status_code, len(response.content))
        raise JWKSUnavailable()
    try:
        keys = JWKSet.from_json(response.content)
    except (JWException, ValueError, TypeError, RecursionError) as error:
        outage_log.warning("JWKS is not a JSON Web Key Set: %s", type(error).__name__)
        raise JWKSUnavailable() from error
    # Signing keys only (RFC 7517 §4.2), each under its own kid.
    return {key.key_id: key for key in keys if key.key_id and key.get("use", "sig") == "sig"}


class KeySet:
    """The keys of one JWKS URL, fetched on first use, when an unknown kid is asked for, and once stale."""

    def __init__(self, timer=time.monotonic):
        self.keys: dict = {}
        self.fetched = -math.inf  # the last fetch tried: REFETCH_SECONDS apart
        self.stale = -math.inf  # when the keys of the last fetch that succeeded stop verifying
        self.timer = timer
        self.lock = threading.Lock()

    def key(self, kid: str):
        """The key named ``kid``; None when the AS's keys, just fetched, have none of that name.

        Raises JWKSUnavailable when they cannot be fetched now (an outage, or a fetch
        within the last REFETCH_SECONDS): not "no such key", since a genuine notice
        refused would never be sent again.
        """
        key = self.keys.get(kid)
        if key is not None and self.timer() < self.stale:
            return key
        with self.lock:  # one fetch for the threads that ask at once
            now = self.timer()
            key = self.keys.get(kid)
            if key is None or now >= self.stale:
                if now - self.fetched < REFETCH_SECONDS:
                    raise JWKSUnavailable()
                self.fetched = now
                try:
                    self.keys = fetch()
                except JWKSUnavailable:
                    self.fetched -= REFETCH_SECONDS - RETRY_SECONDS
                    raise
                self.stale = now + MAX_AGE_SECONDS
                key = self.keys.get(kid)
        return key

    def clear(self) -> None:
        with self.lock:
            self.keys, self.fetched, self.stale = {}, -math.inf, -math.inf


keys = KeySet()


def forget_keys(*, setting: str, **kwargs) -> None:
    """Settings changed (``override_settings`` in tests): the keys of another JWKS_URL are not reused."""
    if setting.startswith("RESOURCE_SERVER_"):
        keys.clear()


setting_changed.connect(forget_keys)
