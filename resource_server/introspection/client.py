"""The RFC 7662 call from the resource server to the authorization server."""

import base64
import logging
import threading
import time
from urllib.parse import quote

import requests

from shared import request_id
from shared.token_introspection import MEDIA_TYPE

from . import metrics, signed_response
from .conf import introspection_settings
from .errors import IntrospectionUnavailable
from .response import is_introspection_response
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
    if introspection_settings.AUTH_TOKEN:
        return f"Bearer {introspection_settings.AUTH_TOKEN}"
    client_id, client_secret = introspection_settings.INTROSPECTION_CREDENTIALS
    # RFC 6749 §2.3.1: form-encode each part before the Basic encoding.
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def post(token: str) -> requests.Response:
    # RFC 9701 §4: a signed answer is asked for by its media type.
    accept = MEDIA_TYPE if introspection_settings.INTROSPECTION_SIGNED else "application/json"
    headers = {"Authorization": caller_authorization(), "Accept": accept}
    serving = request_id.current()
    if serving:
        # The AS keeps it (shared/request_id.py): its lines for this call carry the id of the request it serves.
        headers[request_id.HEADER] = serving

    def attempt():
        return session().post(
            introspection_settings.INTROSPECTION_URL,
            data={"token": token, "token_type_hint": "access_token"},
            headers=headers,
            timeout=introspection_settings.INTROSPECTION_TIMEOUT,
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


def json_body(response: requests.Response):
    try:
        return response.json()
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser's recursion limit
        return None


def introspect(token: str) -> dict:
    """The AS's answer for ``token``, of the shape response.is_introspection_response checks.

    Raises IntrospectionUnavailable when the AS does not answer within
    RESOURCE_SERVER_INTROSPECTION_TIMEOUT (DOT 3.4.1 has no timeout: DOT#1827),
    refuses our credentials, fails, or answers something that is not a valid
    RFC 7662 answer, or (RESOURCE_SERVER_INTROSPECTION_SIGNED) not one it signed
    for this API: the AS misbehaving is not the client's fault.
    """
    started = time.perf_counter()
    try:
        claims = ask(token)
    except IntrospectionUnavailable as error:
        metrics.introspected(started, reason=error.reason)
        raise
    metrics.introspected(started, claims)
    return claims


def ask(token: str) -> dict:
    try:
        response = post(token)
    except requests.RequestException as error:
        outage_log.warning("introspection failed: %s", type(error).__name__)
        reason = metrics.TIMEOUT if isinstance(error, requests.Timeout) else metrics.CONNECTION
        raise IntrospectionUnavailable(reason) from error
    if response.status_code != 200:
        outage_log.warning("introspection answered HTTP %s", response.status_code)
        raise IntrospectionUnavailable(metrics.STATUS)
    if introspection_settings.INTROSPECTION_SIGNED:
        claims = signed_response.introspection_object(response)
    else:
        claims = json_body(response)
    if not is_introspection_response(claims):
        outage_log.warning("introspection answered something that is not a valid RFC 7662 answer")
        raise IntrospectionUnavailable(metrics.MALFORMED)
    return claims
