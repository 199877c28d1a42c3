"""Authorization server settings shared by every environment."""

from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from authorization import oidc_keys
from shared.logging import log_format, logging_config
from shared.settings import database, env, read_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent.parent
read_dotenv(BASE_DIR.parent, "auth_server")

SECRET_KEY = env.str("AS_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("AS_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("AS_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Before oauth2_provider: its templates (the consent page) replace DOT's.
    "authorization",
    "oauth2_provider",
    "axes",
]

MIDDLEWARE = [
    # Outermost: counts every request and times it whole (django-prometheus, docs/operations.md "Metrics").
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # First to answer: every answer names its request id, whatever answers it (shared/request_id.py).
    "shared.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # CONTENT_SECURITY_POLICY below on every answer; the admin's pages may run its scripts.
    "authorization.pages.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "authorization.middleware.RefuseNulParameters",
    # Revocation notices made while serving a request name the issuer it derives (authorization.security_events).
    "authorization.security_events.RequestIssuer",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Responses by view, method and status, and the view's duration. Outside axes, so
    # that a sign-in refused for too many failures counts with the lockout's status.
    # Its method label always from a bounded set (shared/metrics_middleware.py).
    "shared.metrics_middleware.PrometheusAfterMiddleware",
    # Last, as axes asks: it turns a sign-in refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # The product's name and logo (authorization/branding.py) and the request id.
                "authorization.pages.page_context",
            ],
        },
    },
]

DATABASES = {"default": database("AS_DATABASE_URL", BASE_DIR.parent / "var" / "auth_server.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# User passwords keep Django's key stretching. Client secrets are random, high
# entropy values, for which a salted SHA-256 is as strong as PBKDF2 and costs
# microseconds instead of ~190 ms per introspection call (see README, "Client secrets").
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "authorization.hashers.ClientSecretHasher",
]
# axes' backend first: a locked-out sign-in is refused before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
# Signing in with no app waiting (no `next`) ends on the account page.
LOGIN_REDIRECT_URL = "account"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- The sign-in pages' headers (docs/sign-in.md) ---
# Nothing runs or loads from elsewhere: one stylesheet and one logo of our own, no
# script. Forms post to this origin only; the consent and RP-initiated logout
# pages add the one client origin their form ends on (authorization.pages).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "style-src": [SELF],
        "img-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"

# Password reset mail. Local settings print it on the console; elsewhere Django's
# SMTP backend sends it through EMAIL_HOST (EMAIL_* variables, as Django names them).
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@localhost")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# Plain lines here (make run); production settings write JSON (shared/logging.py).
LOGGING = logging_config(LOG_LEVEL, log_format(__name__))

# --- Guessing limits (django-axes): sign-in forms and client secrets alike ---
# Failures are counted per (username or client, client address) within the cool-off,
# so guessing from one address locks out that address only: never the resource
# server, which introspects from its own.
AXES_FAILURE_LIMIT = env.int("AS_LOGIN_FAILURE_LIMIT", default=5)
LOGIN_COOLOFF_MINUTES = env.int("AS_LOGIN_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "authorization.guessing.sign_in_locked_out"
AXES_CLIENT_IP_CALLABLE = "authorization.guessing.client_address"
AXES_USERNAME_CALLABLE = "authorization.guessing.attempted_username"
# How many reverse proxies stand in front of the AS, each appending the address it
# was called from to X-Forwarded-For. 0: the header is ignored (anyone can send it).
AS_TRUSTED_PROXY_COUNT = env.int("AS_TRUSTED_PROXY_COUNT", default=0)
if min(AXES_FAILURE_LIMIT, LOGIN_COOLOFF_MINUTES) < 1 or AS_TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(
        "AS_LOGIN_FAILURE_LIMIT and AS_LOGIN_COOLOFF_MINUTES must be 1 or more, AS_TRUSTED_PROXY_COUNT 0 or more."
    )

ACCESS_TOKEN_EXPIRE_SECONDS = env.int("OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS", default=3600)
# OpenID Connect (docs/openid-connect.md): the AS refuses to start without a valid signing key.
OIDC_RSA_PRIVATE_KEY = oidc_keys.signing_key("OIDC_RSA_PRIVATE_KEY", env.str("OIDC_RSA_PRIVATE_KEY", default=""))
OIDC_RSA_PRIVATE_KEYS_INACTIVE = oidc_keys.inactive_keys(
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE", env.str("OIDC_RSA_PRIVATE_KEYS_INACTIVE", default="")
)
# Keep a rotated key in OIDC_RSA_PRIVATE_KEYS_INACTIVE at least this long.
ID_TOKEN_EXPIRE_SECONDS = env.int("OIDC_ID_TOKEN_EXPIRE_SECONDS", default=3600)

# Named explicitly so migrations that point at the client model stay swappable.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"

OAUTH2_PROVIDER = {
    # The issuer's own scope. The APIs' scopes come from their registrations
    # (manage.py register_resource_server; the seed registers the first API with
    # `read write notes`), through the scopes backend below.
    "SCOPES": {
        "openid": "Sign you in with your account here",
        "profile": "See your name and username",
        "email": "See your email address",
        "introspection": "Introspect tokens (resource servers only)",
    },
    # A token asked for without a scope gets `read` (the first API's) while an
    # enabled API owns it, never `introspection` (the self-assertion hole of
    # DOT#1451 with the default "__all__"). With a `resource` of another API, or
    # no API owning `read`, such a request is invalid_scope: it must name a scope.
    "DEFAULT_SCOPES": ["read"],
    # Scopes of enabled registered APIs; `introspection` for registered resource servers only.
    "SCOPES_BACKEND_CLASS": "authorization.scopes.ResourceServerScopes",
    "OAUTH2_VALIDATOR_CLASS": "authorization.oauth2_validators.OAuth2Validator",
    "OAUTH2_BACKEND_CLASS": "authorization.oauthlib_core.OAuthLibCore",
    "CLIENT_SECRET_HASHER": "client_secret_sha256",
    "ACCESS_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_EXPIRE_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_REFRESH_TOKEN_EXPIRE_SECONDS", default=14 * 24 * 3600),
    "ROTATE_REFRESH_TOKEN": True,
    # RFC 9700 §4.14.2: a replayed refresh token revokes the whole token family.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "PKCE_REQUIRED": True,
    # The RFC 9700 gates of DOT 3.4: enforce the compliant behaviour now.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": not env.bool("OAUTH_ALLOW_IMPLICIT_GRANT", default=False),
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": not env.bool("OAUTH_ALLOW_PASSWORD_GRANT", default=False),
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list("OAUTH_ALLOWED_REDIRECT_URI_SCHEMES", default=["https"]),
    # RFC 8252 §7.3: DOT matches the redirect URI of a loopback IP literal on any
    # port. Off: `localhost` keeps an exact match, port included, since a name can
    # resolve elsewhere (§8.3); authorization.loopback gives it no plain http either.
    "ALLOW_LOCALHOST_LOOPBACK": False,
    # The issuer (OpenID Connect discovery and ID tokens, RFC 8414, RFC 9207,
    # introspection `iss`): the origin, derived from the request when empty. Set
    # it when the AS is reached under several names.
    "OIDC_ISS_ENDPOINT": env.str("OAUTH_ISSUER", default="").rstrip("/"),
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "client_credentials", "refresh_token"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    # OpenID Connect: the code flow only, ID tokens signed RS256 (docs/openid-connect.md).
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": OIDC_RSA_PRIVATE_KEYS_INACTIVE,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "ID_TOKEN_EXPIRE_SECONDS": ID_TOKEN_EXPIRE_SECONDS,
    # RP-initiated logout at /o/logout/, to a post_logout_redirect_uri registered
    # for the client; the user confirms, so a link on another site cannot sign them out.
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": True,
    # A token asked for an API with the openid scope may call userinfo too.
    "RESOURCE_SERVER_TOKEN_RESOURCE_VALIDATOR": "authorization.oauth2_validators.token_audience_allows",
}
