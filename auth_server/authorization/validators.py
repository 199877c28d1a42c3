"""What an API's registration may hold: its resource identifier, its scope names and its events endpoint."""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from .resource_indicators import identifier_problem

# RFC 6749 §3.3: scope-token = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E.
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# The issuer's own scope: granted to registered resource servers, never owned by an API.
INTROSPECTION_SCOPE = "introspection"


def validate_resource_identifier(value: str) -> None:
    problem = identifier_problem(value)
    if problem is not None:
        raise ValidationError(f"{value!r} cannot be a resource identifier: {problem}.")


def validate_events_endpoint(value: str) -> None:
    """An absolute http or https URL. Not Django's URLValidator: it refuses a host name
    without a dot, such as a Compose service's (http://resource-server:8000/)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.fragment
        or any(c.isspace() or not c.isprintable() for c in value)
    ):
        raise ValidationError(f"{value!r} is not an absolute http or https URL without fragment.")


def validate_scope_names(value: str) -> None:
    scopes = value.split()
    malformed = [scope for scope in scopes if not SCOPE_TOKEN.fullmatch(scope)]
    if malformed:
        raise ValidationError(
            f"Not a scope name (RFC 6749 §3.3: printable ASCII without quote or backslash): {', '.join(malformed)}."
        )
    if INTROSPECTION_SCOPE in scopes:
        raise ValidationError(f"'{INTROSPECTION_SCOPE}' is the issuer's own scope; an API cannot own it.")
    if len(set(scopes)) != len(scopes):
        raise ValidationError("A scope is named twice.")
