"""The introspection app's settings, as DRF's ``api_settings`` and DOT's ``oauth2_settings``.

Each setting is the Django setting ``RESOURCE_SERVER_<NAME>`` (the names of DOT's
resource-server settings, so DOT's "Separate Resource Server" documentation
applies), read as ``introspection_settings.<NAME>``, with the default below when
the project does not set it. Values may be Python values or the strings an
environment variable holds ("60", "true", "read write", "client_id:secret"):
``from_environment()`` hands a project's ``RESOURCE_SERVER_*`` variables over as
they are. Every value is checked; a bad one raises ImproperlyConfigured, one line
naming the setting. ``IntrospectionConfig.ready()`` reads them all, so a
misconfigured server refuses to start. ``override_settings`` is seen: the values
are read again when a ``RESOURCE_SERVER_*`` setting changes.
"""

import os
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from .resource import identifier_problem

PREFIX = "RESOURCE_SERVER_"
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
TRUE, FALSE = {"true", "on", "yes", "1"}, {"false", "off", "no", "0", ""}
# The asymmetric JWS algorithms jwcrypto verifies (RFC 7518 §3.1, RFC 8037, RFC 8812). Never ``none``
# or HS*: an HMAC answer verifies with a secret the RS shares, so anyone who knows it could mint one.
SIGNING_ALGORITHMS = [
    *("RS256", "RS384", "RS512"),
    *("PS256", "PS384", "PS512"),
    *("ES256", "ES384", "ES512", "ES256K"),
    "EdDSA",
]


def seconds(name: str, value) -> int:
    """Whole seconds, 0 or more."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImproperlyConfigured(f"{name} must be 0 or more (whole seconds), not {value!r}.")
    return value


def timeout(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = None
    if value is None or not 0 < value < float("inf"):
        raise ImproperlyConfigured(f"{name} must be more than 0 (seconds).")
    return value


def boolean(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def text(name: str, value) -> str:
    if not isinstance(value, str):
        raise ImproperlyConfigured(f"{name} must be a string.")
    return value


def url(name: str, value) -> str:
    if not value:
        raise ImproperlyConfigured(f"{name} must be set: the authorization server's introspection endpoint.")
    return optional_url(name, value)


def optional_url(name: str, value) -> str | None:
    """An absolute http(s) URL; None when empty or unset (then derived from INTROSPECTION_URL)."""
    if not value:
        return None
    parts = urlsplit(text(name, value))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ImproperlyConfigured(f"{name} must be an absolute http(s) URL, not {value!r}.")
    return value


def max_age(name: str, value) -> int:
    value = seconds(name, value)
    if not value:
        raise ImproperlyConfigured(f"{name} must be 1 or more (whole seconds): 0 would refuse every notice.")
    return value


def words(name: str, value, separator: str | None) -> list[str]:
    """A list, or a string of items separated by ``separator`` (None: whitespace)."""
    if isinstance(value, str):
        value = [item.strip() for item in value.split(separator)]
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
        raise ImproperlyConfigured(f"{name} must be a list of names.")
    return list(value)


def scopes(name: str, value) -> list[str]:
    names = words(name, value, None)
    if not all(SCOPE_TOKEN.fullmatch(scope) for scope in names):
        raise ImproperlyConfigured(f"{name} must be scope names (RFC 6749 §3.3), not {value!r}.")
    return names


def scope_prefix(name: str, value) -> str:
    if text(name, value) and not SCOPE_TOKEN.fullmatch(value):
        raise ImproperlyConfigured(f"{name} must be scope characters without spaces (RFC 6749 §3.3), not {value!r}.")
    return value


def credentials(name: str, value) -> tuple[str, str] | None:
    """DOT's tuple ``(client_id, client_secret)``, or the string ``client_id:client_secret``."""
    if not value:
        return None
    if isinstance(value, str):
        value = tuple(value.partition(":")[::2])
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, str) and v for v in value)):
        raise ImproperlyConfigured(f"{name} must be client_id:client_secret.")
    return tuple(value)


def origins(name: str, value) -> list[str] | None:
    return None if value is None else words(name, value, ",")


def optional_text(name: str, value) -> str | None:
    """A string; None when empty or unset (DOT's default is None)."""
    return text(name, value) if value else None


def signing_algorithm(name: str, value) -> str:
    if value not in SIGNING_ALGORITHMS:
        raise ImproperlyConfigured(
            f"{name} must be an asymmetric JWS algorithm ({', '.join(SIGNING_ALGORITHMS)}), not {value!r}."
        )
    return value


def resource(name: str, value) -> str:
    problem = identifier_problem(text(name, value)) if value else "it is not set"
    if problem:
        shown = f": {value!r}" if value else ""
        raise ImproperlyConfigured(f"{name} must be this API's URL, e.g. https://api.example.com/ ({problem}{shown}).")
    return value


# name: (default, check). A default of None with a check that refuses None makes a setting required.
SETTINGS = {
    "INTROSPECTION_URL": (None, url),
    "AUTH_TOKEN": ("", optional_text),
    "INTROSPECTION_CREDENTIALS": ("", credentials),
    "INTROSPECTION_TIMEOUT": (5.0, timeout),
    # The revocation window: how long a positive answer is reused (never past exp).
    "TOKEN_CACHING_SECONDS": (60, seconds),
    # How long "inactive" is remembered; off by default (lua-resty-openidc#523).
    "NEGATIVE_CACHING_SECONDS": (0, seconds),
    # The per-process layer in front of the shared token cache; 0 turns it off.
    "LOCAL_CACHE_SECONDS": (2, seconds),
    "CACHE_ALIAS": ("default", text),
    # RFC 8707: this API's resource identifier, the audience tokens must name.
    "RESOURCE": ("", resource),
    # Without ``aud`` a token is accepted unless this is on.
    "REQUIRE_AUDIENCE": (False, boolean),
    "REALM": ("api", text),
    # RFC 9728 metadata: the AS's issuer, by default the introspection URL's origin (None).
    "AUTHORIZATION_SERVERS": (None, origins),
    # The scopes this API owns, as the AS names them: RFC 9728 ``scopes_supported``.
    "SCOPES": (["read", "write", "notes"], scopes),
    # Qualifies the local scope names of required_scopes and @require_oauth ("team:" makes "read" team:read).
    "SCOPE_PREFIX": ("", scope_prefix),
    # RFC 8935 security event tokens: their ``iss``, by default the first of AUTHORIZATION_SERVERS.
    "ISSUER": (None, optional_url),
    # Where the AS's signing keys are, by default INTROSPECTION_URL's origin + /o/.well-known/jwks.json:
    # the AS's public URL may not be reachable from here, its introspection endpoint is.
    "JWKS_URL": (None, optional_url),
    # A notice whose ``iat`` is older than this is stale: refused.
    "EVENTS_MAX_AGE": (120, max_age),
    # RFC 9701: ask for introspection answers signed by the AS, and refuse any other.
    "INTROSPECTION_SIGNED": (False, boolean),
    # The one algorithm a signed answer may use, whatever its header says.
    "INTROSPECTION_SIGNING_ALG": ("RS256", signing_algorithm),
    # This API's client_id at the AS: the ``aud`` of its signed answers (RFC 9701 §5).
    # Empty: the client_id of INTROSPECTION_CREDENTIALS.
    "CLIENT_ID": ("", text),
}


def from_environment(environ=os.environ) -> dict:
    """The ``RESOURCE_SERVER_*`` variables that are set and not empty, as Django settings of the same names.

    For a settings module configured by its environment:
    ``globals().update(from_environment())``; the defaults apply to the others.
    """
    return {PREFIX + name: environ[PREFIX + name] for name in SETTINGS if environ.get(PREFIX + name)}


class IntrospectionSettings:
    """``introspection_settings.REALM`` is ``settings.RESOURCE_SERVER_REALM``, checked, or its default."""

    def __getattr__(self, name: str):
        if name not in SETTINGS:
            raise AttributeError(f"Invalid introspection setting: {name!r}")
        default, check = SETTINGS[name]
        value = check(PREFIX + name, getattr(settings, PREFIX + name, default))
        if name == "AUTHORIZATION_SERVERS" and value is None:
            value = [self.introspection_origin()]
        if name == "ISSUER" and value is None:
            value = self.AUTHORIZATION_SERVERS[0]
        if name == "JWKS_URL" and value is None:
            value = self.introspection_origin() + "/o/.well-known/jwks.json"
        if name in ("AUTH_TOKEN", "INTROSPECTION_CREDENTIALS"):
            self.caller_credentials()
        if name == "CLIENT_ID":
            value = self.client_id(value)
        setattr(self, name, value)  # later reads skip __getattr__ until reload()
        return value

    def introspection_origin(self) -> str:
        introspection = urlsplit(self.INTROSPECTION_URL)
        return f"{introspection.scheme}://{introspection.netloc}"

    def caller_credentials(self) -> None:
        """The RS authenticates to the introspection endpoint one way: a token or client credentials."""
        names = (PREFIX + "AUTH_TOKEN", PREFIX + "INTROSPECTION_CREDENTIALS")
        present = [name for name in names if getattr(settings, name, "")]
        if len(present) != 1:
            found = "both are set" if present else "neither is set"
            raise ImproperlyConfigured(
                f"Set exactly one of {PREFIX}AUTH_TOKEN or {PREFIX}INTROSPECTION_CREDENTIALS ({found})."
            )

    def client_id(self, configured: str) -> str:
        """The ``aud`` a signed answer names: the client the AS knows this API as."""
        credentials = self.INTROSPECTION_CREDENTIALS
        if credentials and configured and configured != credentials[0]:
            raise ImproperlyConfigured(
                f"{PREFIX}CLIENT_ID ({configured!r}) must be the client_id of "
                f"{PREFIX}INTROSPECTION_CREDENTIALS ({credentials[0]!r}), or empty."
            )
        if credentials:
            return credentials[0]
        if not configured and self.INTROSPECTION_SIGNED:
            # A token names no client: signed answers name this API by a client_id only the settings know.
            raise ImproperlyConfigured(
                f"Set {PREFIX}CLIENT_ID to this API's client_id at the authorization server: "
                f"signed answers ({PREFIX}INTROSPECTION_SIGNED) name it as their audience."
            )
        return configured

    def check_all(self) -> None:
        """Read every setting: a bad one stops the server at startup, not at its first request."""
        for name in SETTINGS:
            getattr(self, name)

    def reload(self) -> None:
        self.__dict__.clear()


introspection_settings = IntrospectionSettings()


def reload_introspection_settings(*, setting: str, **kwargs) -> None:
    if setting.startswith(PREFIX):
        introspection_settings.reload()


setting_changed.connect(reload_introspection_settings)
