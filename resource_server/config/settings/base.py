"""Resource server settings shared by every environment.

The introspection settings keep the names of DOT's resource-server settings, so
DOT's "Separate Resource Server" documentation applies as written, but are read
by this project's own introspection app (see introspection/).
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from introspection.cache_backends import token_cache
from introspection.conf import from_environment
from shared.logging import log_format, logging_config
from shared.settings import database, env, private_directory, read_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent.parent
read_dotenv(BASE_DIR.parent, "resource_server")

SECRET_KEY = env.str("RS_SECRET_KEY")
# Which API this process is: names its default SQLite file and token cache directory,
# so two APIs served from this project on one machine keep apart.
RS_NAME = env.str("RS_NAME", default="resource_server")
if not re.fullmatch(r"[A-Za-z0-9_-]+", RS_NAME):
    raise ImproperlyConfigured(f"RS_NAME must be letters, digits, _ and - (it names files in var/), not {RS_NAME!r}.")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("RS_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

# An API only: no sessions and no admin. django.contrib.auth stays for DRF's
# AnonymousUser; no request ever queries its tables.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "corsheaders",
    "rest_framework",
    "introspection",
    "api",
]

MIDDLEWARE = [
    # Outermost: counts every request and times it whole (django-prometheus, docs/operations.md "Metrics").
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # First to answer: every answer names its request id, a preflight too (shared/request_id.py).
    "shared.request_id.RequestIdMiddleware",
    # Next: it answers CORS preflights before anything else can answer them, and
    # adds its headers to every answer, a 401 challenge included.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Bearer-token views are exempt (a token is no ambient credential); any view
    # added later that trusts cookies is protected by default.
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost: responses by view, method and status, and the view's duration; its
    # method label always from a bounded set (shared/metrics_middleware.py).
    "shared.metrics_middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = []

DATABASES = {"default": database("RS_DATABASE_URL", BASE_DIR.parent / "var" / f"{RS_NAME}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# Plain lines here (make run); production settings write JSON (shared/logging.py).
LOGGING = logging_config(LOG_LEVEL, log_format(__name__))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["introspection.authentication.IntrospectionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["introspection.permissions.HasScopes"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # DRF's, with the request id in each error body.
    "EXCEPTION_HANDLER": "introspection.exception_handler.exception_handler",
}

# --- Introspection (RFC 7662) ---
# Each RESOURCE_SERVER_* variable that is set becomes the setting of the same
# name; introspection/conf.py holds the defaults and checks every value when the
# app loads (one ImproperlyConfigured line naming the variable).
globals().update(from_environment())

# The token cache: Redis when RS_CACHE_URL names one (shared by every worker and
# every RS replica), else a directory that every worker of this RS shares. Both
# store JSON and never unpickle (introspection/checks.py refuses anything else).
CACHES = {
    "default": token_cache(
        env.str("RS_CACHE_URL", default="")
        or env.str("RS_CACHE_DIR", default="")  # empty means the default, next to the SQLite files
        or str(private_directory(BASE_DIR.parent / "var") / f"{RS_NAME}-cache")
    )
}

# --- CORS (django-cors-headers) ---
# Browser apps on these origins may call the API with a bearer token. No cookies
# are involved, so no credentials mode; the challenge (RFC 6750 §3),
# Retry-After and the request id must be readable by the app, so they are exposed.
CORS_ALLOWED_ORIGINS = [origin.strip() for origin in env.list("RS_CORS_ALLOWED_ORIGINS", default=[]) if origin.strip()]
for _origin in CORS_ALLOWED_ORIGINS:
    # An origin is scheme://host[:port], nothing more (RFC 6454 §6.1); anything else would never match.
    _parts = urlsplit(_origin)
    if not (_parts.scheme and _parts.netloc) or _origin != f"{_parts.scheme}://{_parts.netloc}":
        raise ImproperlyConfigured(
            f"RS_CORS_ALLOWED_ORIGINS must be origins such as https://app.example, comma-separated, not {_origin!r}."
        )
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type"]
CORS_EXPOSE_HEADERS = ["WWW-Authenticate", "Retry-After", "X-Request-ID"]
