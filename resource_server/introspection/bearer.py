"""From an HTTP request to an introspected token (RFC 6750 §2, RFC 7662)."""

import re
import time

from . import cache, client
from .conf import introspection_settings
from .errors import InvalidRequest, InvalidToken
from .token import IntrospectedToken

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def bearer_token(request) -> str | None:
    """The token of ``Authorization: Bearer``; None when the request has none."""
    if "access_token" in request.GET:
        # RFC 6750 §2.3 / RFC 9700 §4.3.2: a token in the URI ends up in logs.
        raise InvalidRequest("Send the access token in the Authorization header, not the query string.")
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None  # another scheme is not a bearer token: answered as "no token"
    credentials = credentials.strip()
    if not B64TOKEN.fullmatch(credentials):
        raise InvalidRequest("The Authorization header must be 'Bearer' and one token.")
    return credentials


def check_audience(audience) -> None:
    """RFC 8707, RFC 9700 §2.3: a token issued for another resource is not accepted here.

    The comparison is exact: the identifier is the one the metadata advertises,
    so a client that asks for ``resource=<it>`` gets a token this server accepts.
    """
    if audience is None:
        if introspection_settings.REQUIRE_AUDIENCE:
            raise InvalidToken("The access token names no audience; this resource accepts only tokens issued for it.")
        return
    audiences = [audience] if isinstance(audience, str) else audience
    if introspection_settings.RESOURCE not in audiences:
        raise InvalidToken("The access token is not meant for this resource.")


def check(claims: dict) -> IntrospectedToken:
    """Accept only an active access token for this resource, inside its validity period.

    ``claims`` has passed response.is_introspection_response.
    """
    if not claims["active"]:
        raise InvalidToken()
    now = time.time()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if (exp is not None and exp <= now) or (nbf is not None and nbf > now):
        raise InvalidToken()
    # A refresh token is not an access token, even when the AS calls it active.
    if (claims.get("token_type") or "bearer").lower() != "bearer":
        raise InvalidToken()
    check_audience(claims.get("aud"))
    return IntrospectedToken.from_claims(claims)


def authenticate(request) -> IntrospectedToken | None:
    """The request's token, introspected or from the cache; None without a token.

    The checks of ``check`` run on every request, for cached answers too.
    Raises InvalidRequest, InvalidToken or IntrospectionUnavailable.
    """
    token = bearer_token(request)
    if token is None:
        return None
    return check(cache.answer(token, client.introspect))
