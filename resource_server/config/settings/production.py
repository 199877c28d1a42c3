"""Production: what the containers, the end-to-end tests and the benchmark run.

HTTPS settings follow DJANGO_HTTPS (default on): the documented deployment puts a
TLS-terminating proxy in front that sets X-Forwarded-Proto.
"""

from shared.settings import https_settings

from .base import *  # noqa: F403
from .base import env

DEBUG = False
globals().update(https_settings(env.bool("DJANGO_HTTPS", default=True)))
