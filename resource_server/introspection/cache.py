"""Caching introspection results in Django's cache (Redis under Compose).

RFC 7662 §4: a cached answer MUST NOT outlive the token's ``exp``, and the cache
lifetime is the window in which a revoked token still works. DOT 3.4.1 keeps
answers for ten hours by default and treats ``0`` as "reject everything"
(DOT#970); here ``0`` means "introspect every request". Keys are hashes of the
token, so tokens appear in clear in neither keys nor logs.
"""

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import caches

from .throttled_log import ThrottledLog

log = logging.getLogger(__name__)
cache_outage_log = ThrottledLog(log)

KEY_PREFIX = "introspection:"


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
    if isinstance(exp, (int, float)):
        seconds = min(seconds, math.floor(exp - time.time()))
    return max(seconds, 0)


def get(token: str) -> dict | None:
    try:
        return caches[settings.RESOURCE_SERVER_CACHE_ALIAS].get(key(token))
    except Exception as error:  # any backend's outage: introspect instead (not an auth failure)
        cache_outage_log.warning("token cache unavailable, introspecting: %s", type(error).__name__)
        return None


def put(token: str, claims: dict) -> None:
    seconds = lifetime(claims)
    if seconds <= 0:
        return
    try:
        caches[settings.RESOURCE_SERVER_CACHE_ALIAS].set(key(token), claims, timeout=seconds)
    except Exception as error:  # see get()
        cache_outage_log.warning("token cache unavailable, not caching: %s", type(error).__name__)
