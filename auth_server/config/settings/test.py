"""Unit tests: no .env needed, an in-memory SQLite database."""

import os

os.environ.setdefault("AS_SECRET_KEY", "unit-tests-only")
os.environ.setdefault("DJANGO_READ_DOT_ENV_FILE", "false")

from .base import *  # noqa: E402, F403
from .base import logging_config  # noqa: E402

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# Refusals are the point of many tests; keep their log lines out of the report.
LOGGING = logging_config("CRITICAL")
