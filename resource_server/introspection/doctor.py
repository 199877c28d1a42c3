"""The resource server's ``manage.py doctor`` checks: can this API trust tokens as configured, now?

Each talks to what the API talks to when it serves: the AS's introspection
endpoint with this API's own credentials (one random token: RFC 7662 §2.2 says
an unknown token is ``{"active": false}``, so a 200 means they were accepted),
the AS's keys and one signed answer (RFC 9701), the AS's ``Date`` header for
the clocks (the ``iat`` of signed answers and notices is compared with ours),
the token endpoint for the audience, the token cache and the database.

Whether this API's resource identifier is registered is asked through the AS's
public interface, without issuing anything: a client-credentials request for
this API's resource and a second one that no AS registers (RFC 8707 §2 lets a
client repeat ``resource``). The AS refuses the first unregistered resource it
meets, in the order sent, with ``invalid_target`` naming it: if it names the
second, the first is registered. In token mode this API holds no client
credentials to ask with; the AS's own doctor checks each registration.
"""

import email.utils
import functools
import secrets
import time
import uuid
from urllib.parse import urljoin

import requests
from django.core.cache import caches

from shared.doctor import Skipped, Wrong

from . import client, jwks, jws, signed_response
from .conf import PREFIX, introspection_settings

URL = PREFIX + "INTROSPECTION_URL"
# A resource no AS registers (RFC 2606 reserves .invalid).
UNREGISTERED = "https://doctor.invalid/"
NOT_INACTIVE = f"{URL}: a token nobody was issued is not {{'active': false}}: is this the authorization server?"
# The Date header has whole seconds.
DATE_RESOLUTION_SECONDS = 1


def caller_variable() -> str:
    return PREFIX + ("AUTH_TOKEN" if introspection_settings.AUTH_TOKEN else "INTROSPECTION_CREDENTIALS")


@functools.cache
def call() -> requests.Response | Wrong:
    """The AS's answer for a token nobody was issued, asked as this API asks: once per run, even when it fails."""
    try:
        return client.post(secrets.token_urlsafe(32))
    except requests.RequestException as error:
        return Wrong(
            f"{URL}: {introspection_settings.INTROSPECTION_URL} does not answer ({type(error).__name__}): "
            "is the authorization server running, and is this its introspection endpoint?"
        )


def answer() -> requests.Response:
    response = call()
    if isinstance(response, Wrong):
        raise response
    return response


def accepted() -> requests.Response:
    """The answer, once the endpoint was reached and took this API's credentials; else skipped."""
    try:
        response = answer()
    except Wrong:
        raise Skipped("the introspection endpoint did not answer") from None
    if response.status_code != 200:
        raise Skipped("the introspection endpoint refused the call")
    return response


def endpoint() -> str:
    response = answer()
    if response.status_code in (200, 401, 403):
        return f"{introspection_settings.INTROSPECTION_URL} answers"
    raise Wrong(
        f"{URL}: {introspection_settings.INTROSPECTION_URL} answered HTTP {response.status_code}, "
        "not an introspection answer: is this the authorization server's introspection endpoint (/o/introspect/)?"
    )


def credentials() -> str:
    try:
        response = answer()
    except Wrong:
        raise Skipped("the introspection endpoint did not answer") from None
    if response.status_code in (401, 403):
        raise Wrong(
            f"{caller_variable()}: the authorization server refused them (HTTP {response.status_code}): "
            "they must be this API's registered client (manage.py seed, or register_resource_server) "
            "or a token with scope introspection issued to it"
        )
    if response.status_code != 200:
        raise Skipped(f"the introspection endpoint answered HTTP {response.status_code}")
    return f"{caller_variable()} accepted"


def answers() -> str:
    response = accepted()
    if not introspection_settings.INTROSPECTION_SIGNED:
        if client.json_body(response) != {"active": False}:
            raise Wrong(NOT_INACTIVE)
        return 'plain JSON: a token nobody was issued is {"active": false}'
    try:
        keys = jwks.fetch()
    except jwks.JWKSUnavailable:
        raise Wrong(
            f"{PREFIX}JWKS_URL: the authorization server's keys cannot be fetched "
            f"from {introspection_settings.JWKS_URL}"
        ) from None
    try:
        claims = signed_response.verified(response)
    except signed_response.Refused as refused:
        raise Wrong(f"{PREFIX}INTROSPECTION_SIGNED: a signed answer is refused: {refused}") from None
    except jwks.JWKSUnavailable:
        raise Wrong(f"{PREFIX}JWKS_URL: the key of a signed answer cannot be fetched") from None
    if claims.get("active") is not False:
        raise Wrong(NOT_INACTIVE)
    return f"signed (RFC 9701): one verifies with the JWKS ({len(keys)} key(s))"


def clocks() -> str:
    try:
        response = answer()
    except Wrong:
        raise Skipped("the introspection endpoint did not answer") from None
    date = response.headers.get("Date")
    try:
        theirs = email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        raise Skipped("the authorization server's answer has no Date header") from None
    difference = theirs - time.time()
    if abs(difference) > jws.CLOCK_SKEW_SECONDS + DATE_RESOLUTION_SECONDS:
        raise Wrong(
            f"clocks: the authorization server's clock is {difference:+.0f} s from this one, more than "
            f"{jws.CLOCK_SKEW_SECONDS} s: signed answers and revocation notices will be refused; synchronize both (NTP)"
        )
    return f"the authorization server's clock is within {jws.CLOCK_SKEW_SECONDS} s of this one ({difference:+.0f} s)"


def audience() -> str:
    resource = introspection_settings.RESOURCE
    pair = introspection_settings.INTROSPECTION_CREDENTIALS
    if not pair:
        raise Skipped(
            "token mode has no client credentials to ask the token endpoint with: "
            "the authorization server's manage.py doctor checks each registration"
        )
    accepted()
    token_endpoint = urljoin(introspection_settings.INTROSPECTION_URL, "../token/")
    try:
        response = requests.post(
            token_endpoint,
            data={"grant_type": "client_credentials", "scope": "introspection", "resource": [resource, UNREGISTERED]},
            headers={"Authorization": client.caller_authorization()},
            timeout=introspection_settings.INTROSPECTION_TIMEOUT,
            allow_redirects=False,
        )
        error = response.json()
    except (requests.RequestException, ValueError):
        raise Skipped(f"the token endpoint {token_endpoint} gives no OAuth answer") from None
    if not isinstance(error, dict) or error.get("error") != "invalid_target":
        raise Skipped(f"the token endpoint {token_endpoint} answered {error.get('error', 'no error')!r}")
    description = str(error.get("error_description", ""))
    if f"'{UNREGISTERED}'" in description:
        return f"{PREFIX}RESOURCE {resource} is registered at the authorization server"
    raise Wrong(
        f"{PREFIX}RESOURCE: {resource} is not registered (or is disabled) at the authorization server, "
        "which refuses tokens for it: "
        f"run manage.py seed there (make migrate-auth; under Compose docker compose up -d), or "
        f"register_resource_server --resource {resource}"
    )


def token_cache() -> str:
    cache = caches[introspection_settings.CACHE_ALIAS]
    key, value = f"doctor:{uuid.uuid4().hex}", {"probe": True}
    try:
        cache.set(key, value, timeout=10)
        read = cache.get(key)
        cache.delete(key)
    except Exception as error:
        raise Wrong(
            f"token cache: it does not answer ({type(error).__name__}): check RS_CACHE_URL or RS_CACHE_DIR"
        ) from None
    if read != value:
        raise Wrong("token cache: a value set is not read back: check RS_CACHE_URL or RS_CACHE_DIR")
    return "set, get and delete answer"


CHECKS = [
    ("introspection endpoint", endpoint),
    ("introspection credentials", credentials),
    ("introspection answers", answers),
    ("clocks", clocks),
    ("audience", audience),
    ("token cache", token_cache),
]
