"""Production: what the containers, the end-to-end tests and the benchmark run.

HTTPS settings follow DJANGO_HTTPS (default on): the documented deployment puts a
TLS-terminating proxy in front that sets X-Forwarded-Proto.
"""

from shared.logging import log_format, logging_config
from shared.settings import https_settings

from .base import *  # noqa: F403
from .base import LOG_LEVEL, env

DEBUG = False
# One JSON object a line, unless LOG_FORMAT says plain.
LOGGING = logging_config(LOG_LEVEL, log_format(__name__))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
globals().update(https_settings(env.bool("DJANGO_HTTPS", default=True)))
