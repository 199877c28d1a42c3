"""Unit tests: no .env needed; the AS is never called (tests replace the client)."""

import os

os.environ.setdefault("RS_SECRET_KEY", "unit-tests-only")
os.environ.setdefault("DJANGO_READ_DOT_ENV_FILE", "false")
os.environ.setdefault("RESOURCE_SERVER_INTROSPECTION_URL", "http://as.invalid/o/introspect/")
os.environ.setdefault("RESOURCE_SERVER_INTROSPECTION_CREDENTIALS", "rs:secret")

from .base import *  # noqa: E402, F403
from .base import logging_config  # noqa: E402

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# Refusals are the point of many tests; keep their log lines out of the report.
LOGGING = logging_config("CRITICAL")
