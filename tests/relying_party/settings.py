"""Settings of the demo relying party, from the environment first and ``.env`` second.

No database: the session (the tokens of the signed-in user, Authlib's state,
nonce and PKCE verifier between the redirect and the callback) is a signed cookie.
"""

import secrets
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# The end-to-end tests configure it by its environment alone, as they do the servers.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=True):
    environ.Env.read_env(ROOT / ".env")  # never overwrites what the environment sets

PORT = env.int("DEMO_WEB_PORT", default=8003)
ORIGIN = f"http://127.0.0.1:{PORT}"
# The AS's origin (OpenID Connect Discovery §4: the metadata is at
# {issuer}/.well-known/openid-configuration).
ISSUER = (env.str("OAUTH_ISSUER", default="") or f"http://127.0.0.1:{env.int('AS_PORT', default=8000)}").rstrip("/")
CLIENT_ID = env.str("DEMO_WEB_CLIENT_ID", default="demo-web")
CLIENT_SECRET = env.str("DEMO_WEB_CLIENT_SECRET", default="")
REDIRECT_URI = env.str("DEMO_WEB_REDIRECT_URI", default=f"{ORIGIN}/callback/")
POST_LOGOUT_REDIRECT_URI = env.str("DEMO_WEB_POST_LOGOUT_REDIRECT_URI", default=f"{ORIGIN}/")
# The first API: where to call it, and its resource identifier (RFC 8707) that
# binds the access token to it.
API_URL = env.str("DEMO_WEB_API_URL", default=f"http://127.0.0.1:{env.int('RS_PORT', default=8001)}").rstrip("/")
API_RESOURCE = env.str("RESOURCE_SERVER_RESOURCE", default="") or f"{API_URL}/"  # empty: as the API derives it
SCOPE = "openid profile email read"

# A key of this process: a restart signs everyone out of the demo, nothing more.
SECRET_KEY = env.str("DEMO_WEB_SECRET_KEY", default="") or secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = ["django.contrib.sessions", "tests.relying_party"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tests.relying_party.views.content_security_policy",
]
ROOT_URLCONF = "tests.relying_party.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.csrf"]},
    }
]
WSGI_APPLICATION = "tests.relying_party.wsgi.application"
DATABASES = {}

SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
# Cookies ignore ports: on 127.0.0.1 the AS's sessionid and csrftoken are
# the same host's, so the demo's cookies have names of their own.
SESSION_COOKIE_NAME = "demo_web_session"
SESSION_COOKIE_HTTPONLY = True
# Lax: the browser sends it on the AS's top-level redirect back to the callback.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_NAME = "demo_web_csrftoken"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Not no-referrer: chromium then sends "Origin: null" with the forms, which CSRF refuses.
SECURE_REFERRER_POLICY = "same-origin"

USE_TZ = True
TIME_ZONE = "UTC"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
