"""RFC 9701: the introspection answer as a JWT the authorization server signed, verified before it is read.

With RESOURCE_SERVER_INTROSPECTION_SIGNED the RS asks for it (client.py) and
takes nothing else: whatever sits between the two servers (a TLS-terminating
proxy, a sidecar, a misrouted hostname) can no longer change what the AS said.
The JWS is checked as jws.py does for the AS's Security Event Tokens, against
the same keys (jwks.keys), with the algorithm pinned by
RESOURCE_SERVER_INTROSPECTION_SIGNING_ALG; then its claims (§5): ``iss`` is the
AS, ``aud`` names this API's client_id, ``iat`` is now, give or take the clock
difference and the call's own duration (an older answer is a replay), and
``token_introspection`` is an object, which client.py then checks as an RFC 7662
answer. Anything else is the AS misconfigured or someone in between: 503, as
for an AS that does not answer, and a log line that never holds the token.
"""

import logging
import math
import time

from shared.token_introspection import CLAIM, MEDIA_TYPE, TYPE

from . import jwks, jws, metrics
from .conf import introspection_settings
from .errors import IntrospectionUnavailable
from .throttled_log import ThrottledLog

log = logging.getLogger(__name__)
refusal_log = ThrottledLog(log)

# Why an answer whose JWS fails each check of jws.py is refused.
UNVERIFIED = {
    jws.NOT_COMPACT: "it is not a JWS in compact serialization",
    jws.HEADER: "its JWS header is not a JSON object",
    jws.ALG: "its alg is not RESOURCE_SERVER_INTROSPECTION_SIGNING_ALG",
    jws.TYP: f"its typ is not {TYPE}",
    jws.KID: "its kid names none of the authorization server's keys, fetched again",
    jws.SIGNATURE: "its signature does not verify with the authorization server's key",
    jws.PAYLOAD: "its payload is not a JSON object",
}


class Refused(Exception):
    """The answer is not one the AS signed for this API now; the message says why, ``reason`` in a word (metrics)."""

    def __init__(self, message: str, reason: str = metrics.CLAIMS):
        super().__init__(message)
        self.reason = reason


def introspection_object(response) -> dict:
    """The ``token_introspection`` object of the AS's signed answer; raises IntrospectionUnavailable."""
    try:
        return verified(response)
    except Refused as error:
        refusal_log.warning("signed introspection answer refused: %s", error)
        raise IntrospectionUnavailable(error.reason) from error
    except jwks.JWKSUnavailable as error:
        refusal_log.warning("signed introspection answer not verified: the authorization server's JWKS is unavailable")
        raise IntrospectionUnavailable(metrics.JWKS) from error


def verified(response) -> dict:
    content_type = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
    if content_type != MEDIA_TYPE:
        # A JSON answer to our Accept: the AS does not sign (or a proxy stripped the header), not the client's fault.
        raise Refused(
            f"the authorization server is misconfigured: it answered {content_type[:100]!r}, not {MEDIA_TYPE}",
            metrics.MEDIA_TYPE,
        )
    compact = response.content.decode("ascii", "replace").strip()
    try:
        claims = jws.verified_claims(compact, alg=introspection_settings.INTROSPECTION_SIGNING_ALG, typ=TYPE)
    except jws.Unverified as error:
        raise Refused(UNVERIFIED[error.check], metrics.SIGNATURE) from error
    check_claims(claims)
    answer = claims.get(CLAIM)
    if not isinstance(answer, dict):
        raise Refused(f"its {CLAIM} is not a JSON object")
    return answer


def check_claims(claims: dict) -> None:
    """RFC 9701 §5's claims of an answer meant for this API, now; raises Refused."""
    if claims.get("iss") != introspection_settings.ISSUER:
        raise Refused("its iss is not RESOURCE_SERVER_ISSUER")
    audience = claims.get("aud")
    if introspection_settings.CLIENT_ID not in (audience if isinstance(audience, list) else [audience]):
        raise Refused("its aud does not name RESOURCE_SERVER_CLIENT_ID")
    iat, now = claims.get("iat"), time.time()
    # RFC 7519 §2 NumericDate: "non-integer values can be represented"; json reads NaN and 1e999 (inf) too.
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
        raise Refused("its iat is not a number of seconds")
    if iat > now + jws.CLOCK_SKEW_SECONDS:
        raise Refused("its iat is in the future")
    # Signed during this call: an older answer is one recorded earlier and played back.
    if iat < now - jws.CLOCK_SKEW_SECONDS - introspection_settings.INTROSPECTION_TIMEOUT:
        raise Refused("its iat is too old: an answer replayed")
