"""Unit tests: no .env needed; the AS is never called (tests replace the client)."""

import os
import tempfile

os.environ.setdefault("RS_SECRET_KEY", "unit-tests-only")
os.environ.setdefault("DJANGO_READ_DOT_ENV_FILE", "false")
os.environ.setdefault("RESOURCE_SERVER_INTROSPECTION_URL", "http://as.invalid/o/introspect/")
os.environ.setdefault("RESOURCE_SERVER_INTROSPECTION_CREDENTIALS", "rs:secret")
# Django's test client asks for http://testserver/.
os.environ.setdefault("RESOURCE_SERVER_RESOURCE", "http://testserver/")
# The shipped token cache, in a directory of this run's own (removed at exit).
_cache_directory = tempfile.TemporaryDirectory(prefix="rs-unit-cache-")
os.environ.setdefault("RS_CACHE_DIR", _cache_directory.name)

from .base import *  # noqa: E402, F403
from .base import logging_config  # noqa: E402

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# Refusals are the point of many tests; keep their log lines out of the report.
LOGGING = logging_config("CRITICAL")
