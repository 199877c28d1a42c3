"""Resource server settings shared by every environment.

The introspection settings keep the names of DOT's resource-server settings, so
DOT's "Separate Resource Server" documentation applies as written, but are read
by this project's own introspection app (see introspection/).
"""

from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from introspection.cache_backends import JSONOnlyDisk
from introspection.resource import identifier_problem
from shared.logging import logging_config
from shared.settings import database, env, exactly_one, private_directory, read_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent.parent
read_dotenv(BASE_DIR.parent, "resource_server")

SECRET_KEY = env.str("RS_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("RS_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

# An API only: no sessions and no admin. django.contrib.auth stays for DRF's
# AnonymousUser; no request ever queries its tables.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "introspection",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Bearer-token views are exempt (a token is no ambient credential); any view
    # added later that trusts cookies is protected by default.
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = []

DATABASES = {"default": database("RS_DATABASE_URL", BASE_DIR.parent / "var" / "resource_server.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

LOGGING = logging_config(env.str("LOG_LEVEL", default="INFO"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["introspection.authentication.IntrospectionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["introspection.permissions.HasScopes"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# --- Introspection (RFC 7662) ---
RESOURCE_SERVER_INTROSPECTION_URL = env.str("RESOURCE_SERVER_INTROSPECTION_URL")
_mode = exactly_one("RESOURCE_SERVER_AUTH_TOKEN", "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS")
RESOURCE_SERVER_AUTH_TOKEN = env.str("RESOURCE_SERVER_AUTH_TOKEN", default="") or None
RESOURCE_SERVER_INTROSPECTION_CREDENTIALS = None
if _mode == "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS":
    _client_id, _colon, _secret = env.str(_mode).partition(":")
    if not (_client_id and _secret):
        raise ImproperlyConfigured(f"{_mode} must be client_id:client_secret.")
    RESOURCE_SERVER_INTROSPECTION_CREDENTIALS = (_client_id, _secret)

# The revocation window: how long a positive answer is reused (never past exp).
RESOURCE_SERVER_TOKEN_CACHING_SECONDS = env.int("RESOURCE_SERVER_TOKEN_CACHING_SECONDS", default=60)
# How long "inactive" is remembered; off by default (lua-resty-openidc#523).
RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS = env.int("RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS", default=0)
RESOURCE_SERVER_INTROSPECTION_TIMEOUT = env.float("RESOURCE_SERVER_INTROSPECTION_TIMEOUT", default=5.0)
for _name in ("RESOURCE_SERVER_TOKEN_CACHING_SECONDS", "RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS"):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must be 0 or more.")
if RESOURCE_SERVER_INTROSPECTION_TIMEOUT <= 0:
    raise ImproperlyConfigured("RESOURCE_SERVER_INTROSPECTION_TIMEOUT must be more than 0.")

# RFC 8707: this API's resource identifier. Tokens whose audience (``aud``) does
# not name it are refused; the RFC 9728 metadata advertises it. Without ``aud`` a
# token is accepted unless RESOURCE_SERVER_REQUIRE_AUDIENCE is on.
RESOURCE_SERVER_RESOURCE = env.str("RESOURCE_SERVER_RESOURCE", default="")
_problem = identifier_problem(RESOURCE_SERVER_RESOURCE) if RESOURCE_SERVER_RESOURCE else "it is not set"
if _problem:
    _value = f": {RESOURCE_SERVER_RESOURCE!r}" if RESOURCE_SERVER_RESOURCE else ""
    raise ImproperlyConfigured(
        f"RESOURCE_SERVER_RESOURCE must be this API's URL, e.g. https://api.example.com/ ({_problem}{_value})."
    )
RESOURCE_SERVER_REQUIRE_AUDIENCE = env.bool("RESOURCE_SERVER_REQUIRE_AUDIENCE", default=False)

RESOURCE_SERVER_REALM = env.str("RESOURCE_SERVER_REALM", default="api")
# RFC 9728 metadata: the AS's issuer, by default the introspection URL's origin.
_introspection = urlsplit(RESOURCE_SERVER_INTROSPECTION_URL)
RESOURCE_SERVER_AUTHORIZATION_SERVERS = env.list(
    "RESOURCE_SERVER_AUTHORIZATION_SERVERS", default=[f"{_introspection.scheme}://{_introspection.netloc}"]
)
RESOURCE_SERVER_SCOPES_SUPPORTED = ["read", "write", "notes"]

# The token cache: Redis when RS_CACHE_URL names one (shared by every worker and
# every RS replica), else a directory that every worker of this RS shares. Both
# store JSON and never unpickle (introspection/checks.py refuses anything else).
RESOURCE_SERVER_CACHE_ALIAS = "default"
_cache_url = env.str("RS_CACHE_URL", default="")
if _cache_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "OPTIONS": {
                "serializer": "introspection.cache_backends.JSONSerializer",
                # A Redis outage must cost milliseconds, not a worker's timeout.
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "introspection.cache_backends.SharedDiskCache",
            # Empty means the default, next to the SQLite files.
            "LOCATION": env.str("RS_CACHE_DIR", default="")
            or str(private_directory(BASE_DIR.parent / "var") / "resource_server-cache"),
            "OPTIONS": {"disk": JSONOnlyDisk},
        }
    }
