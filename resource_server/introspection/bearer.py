"""From an HTTP request to an introspected token (RFC 6750 §2, RFC 7662)."""

import re
import time

from . import cache, client
from .errors import InvalidRequest, InvalidToken
from .token import IntrospectedToken

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def bearer_token(request) -> str | None:
    """The token of ``Authorization: Bearer``; None when the request has none."""
    if "access_token" in request.GET:
        # RFC 6750 §2.3 / RFC 9700 §4.3.2: a token in the URI ends up in logs.
        raise InvalidRequest(request, "Send the access token in the Authorization header, not the query string.")
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None  # another scheme is not a bearer token: answered as "no token"
    credentials = credentials.strip()
    if not B64TOKEN.fullmatch(credentials):
        raise InvalidRequest(request, "The Authorization header must be 'Bearer' and one token.")
    return credentials


def check(request, claims: dict) -> IntrospectedToken:
    """Accept only an active access token whose ``exp`` has not passed."""
    if not claims["active"]:
        raise InvalidToken(request)
    exp = claims.get("exp")
    if exp is not None and exp <= time.time():
        raise InvalidToken(request)
    # A refresh token is not an access token, even when the AS calls it active.
    if str(claims.get("token_type", "bearer")).lower() != "bearer":
        raise InvalidToken(request)
    return IntrospectedToken.from_claims(claims)


def authenticate(request) -> IntrospectedToken | None:
    """The request's token, introspected or from the cache; None without a token.

    Raises InvalidRequest, InvalidToken or IntrospectionUnavailable.
    """
    token = bearer_token(request)
    if token is None:
        return None
    claims = cache.get(token)
    if claims is None:
        claims = client.introspect(token)
        cache.put(token, claims)
    return check(request, claims)
