"""Caching introspection results in Django's cache (Redis under Compose, else a
directory that every worker of the resource server shares).

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
"""

import functools
import hashlib
import hmac
import json
import logging
import math
import time

from django.conf import settings
from django.core.cache import caches

from .cache_backends import SharedDiskCache, UntrustedCacheEntry
from .response import is_introspection_response
from .throttled_log import ThrottledLog

log = logging.getLogger(__name__)
cache_outage_log = ThrottledLog(log)
untrusted_entry_log = ThrottledLog(log)

KEY_PREFIX = "introspection:"
SIGNING_SALT = "introspection.cache"


def key(token: str) -> str:
    return KEY_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def lifetime(claims: dict) -> int:
    """Whole seconds to keep ``claims``: never past ``exp``."""
    seconds = (
        settings.RESOURCE_SERVER_TOKEN_CACHING_SECONDS
        if claims["active"]
        else settings.RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS
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
    token_cache = caches[settings.RESOURCE_SERVER_CACHE_ALIAS]
    if isinstance(token_cache, SharedDiskCache):
        token_cache.release()


@functools.lru_cache(maxsize=1)
def signing_key(secret: str) -> bytes:
    # Derived as django.utils.crypto.salted_hmac derives its key, once instead of
    # on every hit (salted_hmac cost a hit 16 µs of its 25, measured).
    return hashlib.sha256((SIGNING_SALT + secret).encode()).digest()


def signature(cache_key: str, until: float, text: str) -> str:
    message = f"{cache_key}\n{until!r}\n{text}".encode()
    return hmac.digest(signing_key(settings.SECRET_KEY), message, "sha256").hex()


def entry(cache_key: str, claims: dict, seconds: int) -> dict:
    text = json.dumps(claims, separators=(",", ":"))
    until = time.time() + seconds
    return {"claims": text, "until": until, "mac": signature(cache_key, until, text)}


def claims_of(cache_key: str, cached) -> dict | None:
    """The answer in an entry this server wrote under ``cache_key``; None when it is stale or untrusted."""
    fields = cached if isinstance(cached, dict) else {}
    text, until, mac = fields.get("claims"), fields.get("until"), fields.get("mac")
    if not (isinstance(text, str) and isinstance(until, float) and isinstance(mac, str)):
        untrusted_entry_log.warning("token cache entry is not in this server's format; introspecting")
        return None
    if until <= time.time():
        return None  # the store kept it a moment longer than its lifetime
    if not hmac.compare_digest(mac, signature(cache_key, until, text)):
        untrusted_entry_log.warning("token cache entry failed its integrity check; introspecting")
        return None
    claims = json.loads(text)
    # Checked again: what this server accepts may have narrowed since it wrote the entry.
    return claims if is_introspection_response(claims) else None


def get(token: str) -> dict | None:
    cache_key = key(token)
    try:
        cached = caches[settings.RESOURCE_SERVER_CACHE_ALIAS].get(cache_key)
    except UntrustedCacheEntry as error:
        untrusted_entry_log.warning("token cache entry is %s; introspecting", error)
        return None
    except Exception as error:  # any backend's outage: introspect instead (not an auth failure)
        cache_outage_log.warning("token cache unavailable, introspecting: %s", type(error).__name__)
        return None
    return None if cached is None else claims_of(cache_key, cached)


def put(token: str, claims: dict) -> None:
    seconds = lifetime(claims)
    if seconds <= 0:
        return
    cache_key = key(token)
    try:
        caches[settings.RESOURCE_SERVER_CACHE_ALIAS].set(cache_key, entry(cache_key, claims, seconds), timeout=seconds)
    except Exception as error:  # see get()
        cache_outage_log.warning("token cache unavailable, not caching: %s", type(error).__name__)
