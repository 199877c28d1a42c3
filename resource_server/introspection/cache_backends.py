"""Token cache backends that store JSON and never unpickle.

Django's RedisSerializer falls back to ``pickle.loads`` for whatever it reads,
and diskcache's Disk unpickles a row stored in MODE_PICKLE: anyone who can write
to the cache (a Redis without a password, a shared directory) could otherwise run
code in the resource server. checks.py refuses any other token cache.
"""

import json
import sys
import zlib
from urllib.parse import urlsplit

from diskcache import Disk, DjangoCache, JSONDisk
from diskcache.core import MODE_RAW, UNKNOWN
from django.core.exceptions import ImproperlyConfigured

# What redis-py's from_url reads (RFC 3986 §3.1: a scheme is case-insensitive, and urllib lowers it).
REDIS_SCHEMES = ("redis", "rediss", "unix")
# SQLite's INTEGER, the range in which Disk keeps an int as it is.
INTEGER_MIN, INTEGER_MAX = -(2**63), 2**63 - 1


class UntrustedCacheEntry(ValueError):
    """A cached value that is not this resource server's JSON: read as a miss."""


class JSONSerializer:
    """RedisCache's ``OPTIONS["serializer"]``: JSON both ways."""

    def dumps(self, value) -> bytes:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()

    def loads(self, data: bytes):
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as error:
            raise UntrustedCacheEntry("not JSON") from error


class JSONOnlyDisk(JSONDisk):
    """diskcache's JSONDisk, trusting only what it writes itself: JSON inside its SQLite rows.

    Its base class unpickles a row stored in MODE_PICKLE, and opens, reads and
    deletes whatever file a row names, wherever it is (an absolute path, a FIFO
    that blocks the reading thread). This disk keeps every value in its row and
    writes no file, so a row that is not raw, or that names a file, was written
    by someone else: it is refused, and the file it names is never touched.
    """

    def __init__(self, directory, compress_level=1, **kwargs):
        super().__init__(directory, compress_level, **{**kwargs, "min_file_size": sys.maxsize})

    def store(self, value, read, key=UNKNOWN):
        # An integer goes into its row as an SQLite integer, as Disk stores it: Cache.incr adds
        # to the row's value in place, and a JSON counter there is bytes (TypeError).
        if type(value) is int and INTEGER_MIN <= value <= INTEGER_MAX:
            return Disk.store(self, value, read, key=key)
        return super().store(value, read, key=key)

    def get(self, key, raw):
        # A key stored "not raw" is a pickle; this disk only writes raw keys.
        if not raw:
            raise UntrustedCacheEntry("a pickled key")
        return super().get(key, raw)

    def fetch(self, mode, filename, value, read):
        if mode != MODE_RAW or filename is not None:
            raise UntrustedCacheEntry("not a value kept in its row")
        if type(value) is int:  # a counter (store()): an SQLite integer is no pickle
            return value
        try:
            return super().fetch(mode, filename, value, read)
        except (zlib.error, TypeError, ValueError, RecursionError) as error:
            raise UntrustedCacheEntry("not compressed JSON") from error

    def remove(self, file_path):
        """Called when a row is replaced, deleted or culled: this disk made no file to remove."""


class SharedDiskCache(DjangoCache):
    """diskcache's Django cache: one SQLite cache that every worker of a resource server shares.

    Django closes every cache at the end of each request (``request_finished``);
    DjangoCache.close() closes the thread's SQLite connections, and reopening
    them cost ten times the hit itself (about 0.8 ms against 0.07 ms, measured).
    Connections belong to one thread and diskcache reopens them after a fork, so
    they are kept.
    """

    def close(self, **kwargs):
        pass

    def release(self) -> None:
        """Close this thread's SQLite connections, which close() keeps."""
        super().close()


def token_cache(location: str, variable: str = "RS_CACHE_URL") -> dict:
    """The ``CACHES`` entry of a token cache that reads JSON only, as checks.py requires.

    ``location`` is a Redis URL (``redis://``, ``rediss://``, ``unix://``), for a
    cache every process and replica shares, or a directory, for one that every
    worker on this machine shares. ``CACHES = {"default": token_cache(...)}``, or
    under another alias named by RESOURCE_SERVER_CACHE_ALIAS.

    A URL that can never work is ImproperlyConfigured at start, naming ``variable``
    and never its value (a password): Redis would otherwise fail on every request,
    and another scheme would become a directory named by the URL.
    """
    scheme = urlsplit(location).scheme.lower() if "://" in location else ""
    if scheme and scheme not in REDIS_SCHEMES:
        raise ImproperlyConfigured(
            f"{variable} must be a redis://, rediss:// or unix:// URL; for a directory, set RS_CACHE_DIR instead."
        )
    if scheme in ("redis", "rediss"):
        try:
            port = urlsplit(location).port  # a ValueError for one that is no number from 0 to 65535
        except ValueError:
            port = 0
        if port == 0:
            raise ImproperlyConfigured(
                f"{variable} is not a Redis URL: its port must be a number from 1 to 65535, and a '/', '#', '?'"
                " or '@' in its password percent-encoded (%2F, %23, %3F, %40)."
            )
    if scheme:
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "OPTIONS": {
                "serializer": "introspection.cache_backends.JSONSerializer",
                # A Redis outage must cost milliseconds, not a worker's timeout.
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
            },
        }
    return {
        "BACKEND": "introspection.cache_backends.SharedDiskCache",
        "LOCATION": location,
        "OPTIONS": {"disk": JSONOnlyDisk},
    }
