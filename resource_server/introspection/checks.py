"""System check: the token cache must not be able to unpickle what it reads.

Django's cache backends pickle by default (LocMemCache, FileBasedCache,
Memcached, DatabaseCache, RedisCache's default serializer), and unpickling runs
code chosen by whoever wrote the value. Only the two configurations of
cache_backends.py read JSON alone; ``manage.py check`` (and migrate) refuse any
other, whichever alias RESOURCE_SERVER_CACHE_ALIAS names.
"""

from diskcache import DjangoCache
from django.conf import settings
from django.core import checks
from django.core.cache.backends.redis import RedisCache
from django.utils.module_loading import import_string

from .cache_backends import JSONOnlyDisk, JSONSerializer
from .conf import introspection_settings

FIX = (
    "Configure it with introspection.cache_backends.token_cache(a Redis URL or a directory), which gives "
    "RedisCache with OPTIONS {'serializer': 'introspection.cache_backends.JSONSerializer'} or "
    "introspection.cache_backends.SharedDiskCache with OPTIONS {'disk': JSONOnlyDisk}."
)


def resolved(value):
    """A class named by a dotted path or given as a class or an instance, as the backends accept it."""
    if isinstance(value, str):
        value = import_string(value)
    return value if isinstance(value, type) else type(value)


def reads_json_only(config: dict) -> bool:
    backend = resolved(config.get("BACKEND", ""))
    options = config.get("OPTIONS", {})
    if issubclass(backend, RedisCache):
        return issubclass(resolved(options.get("serializer")), JSONSerializer)
    if issubclass(backend, DjangoCache):
        return issubclass(resolved(options.get("disk")), JSONOnlyDisk)
    return False


@checks.register(checks.Tags.caches)
def token_cache_reads_json_only(app_configs, **kwargs):
    alias = introspection_settings.CACHE_ALIAS
    config = settings.CACHES.get(alias)
    try:
        safe = config is not None and reads_json_only(config)
    except ImportError:
        safe = False
    if safe:
        return []
    return [
        checks.Error(
            f"The token cache {alias!r} could unpickle values, which runs code chosen by whoever can write to it.",
            hint=FIX,
            id="introspection.E001",
        )
    ]
