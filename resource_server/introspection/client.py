"""The RFC 7662 call from the resource server to the authorization server."""

import base64
import logging
import threading
from urllib.parse import quote

import requests
from django.conf import settings

from .errors import IntrospectionUnavailable
from .throttled_log import ThrottledLog

log = logging.getLogger(__name__)
outage_log = ThrottledLog(log)

# One session per thread keeps connections to the AS open between requests
# (gthread workers run several threads; sessions are created after the fork).
_local = threading.local()


def session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def caller_authorization() -> str:
    """The Authorization header the RS presents to the introspection endpoint."""
    if settings.RESOURCE_SERVER_AUTH_TOKEN:
        return f"Bearer {settings.RESOURCE_SERVER_AUTH_TOKEN}"
    client_id, client_secret = settings.RESOURCE_SERVER_INTROSPECTION_CREDENTIALS
    # RFC 6749 §2.3.1: form-encode each part before the Basic encoding.
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def post(token: str) -> requests.Response:
    def attempt():
        return session().post(
            settings.RESOURCE_SERVER_INTROSPECTION_URL,
            data={"token": token, "token_type_hint": "access_token"},
            headers={"Authorization": caller_authorization(), "Accept": "application/json"},
            timeout=settings.RESOURCE_SERVER_INTROSPECTION_TIMEOUT,
            allow_redirects=False,
        )

    try:
        return attempt()
    except requests.Timeout:
        raise
    except requests.ConnectionError:
        # A pooled keep-alive connection the AS has closed (after its restart, or
        # its idle timeout) fails on reuse; introspection has no side effects, so
        # try once more on a fresh connection. Never after a timeout: that would
        # stretch the bound RESOURCE_SERVER_INTROSPECTION_TIMEOUT promises.
        return attempt()


def is_introspection_response(claims) -> bool:
    """RFC 7662 §2.2: an object with a boolean ``active`` and, if any, a numeric ``exp``."""
    return (
        isinstance(claims, dict)
        and isinstance(claims.get("active"), bool)
        and isinstance(claims.get("exp", 0), (int, float))
        and not isinstance(claims.get("exp", 0), bool)
    )


def introspect(token: str) -> dict:
    """The AS's answer for ``token``, with a boolean ``active``.

    Raises IntrospectionUnavailable when the AS does not answer within
    RESOURCE_SERVER_INTROSPECTION_TIMEOUT (DOT 3.4.1 has no timeout: DOT#1827),
    refuses our credentials, fails, or answers something that is not RFC 7662.
    """
    try:
        response = post(token)
    except requests.RequestException as error:
        outage_log.warning("introspection failed: %s", type(error).__name__)
        raise IntrospectionUnavailable() from error
    if response.status_code != 200:
        outage_log.warning("introspection answered HTTP %s", response.status_code)
        raise IntrospectionUnavailable()
    try:
        claims = response.json()
    except ValueError:
        claims = None
    if not is_introspection_response(claims):
        outage_log.warning("introspection answered something that is not RFC 7662 JSON")
        raise IntrospectionUnavailable()
    return claims
