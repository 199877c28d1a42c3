"""The RFC 8935 receiver: the authorization server pushes Security Event Tokens (RFC 8417) here.

Each notice names what the AS revoked (the event types of OpenID CAEP, RISC and
SSF, the subject in RFC 9493's ``sub_id``); revocations.py distrusts the cached
answers it names, in every process and replica of this API. The notice is
signed with the AS's OpenID Connect key (RS256, pinned here: never the
algorithm the header asks for) and verified against its JWKS (jwks.py); it must
name this API as its audience, be recent (``iat``) and new (``jti``). Anything
else is refused with RFC 8935 §2.4's error and evicts nothing.
"""

import hashlib
import logging
import re
import time

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shared.secevent import ACCOUNT_DISABLED, CREDENTIAL_CHANGE, SESSION_REVOKED, STREAM_UPDATED, TYPE

from . import cache, jwks, jws, metrics, revocations
from .conf import introspection_settings
from .throttled_log import ThrottledLog

log = logging.getLogger(__name__)
refusal_log = ThrottledLog(log)

CONTENT_TYPE = "application/secevent+jwt"
MAX_BYTES = 16 * 1024
ALGORITHM = "RS256"
MAX_JTI = 255
REPLAY_PREFIX = "introspection-event:"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class Refused(Exception):
    """RFC 8935 §2.4: 400 with ``err`` (a registered code) and ``description``."""

    def __init__(self, err: str, description: str, status: int = 400):
        super().__init__(description)
        self.err, self.description, self.status = err, description, status


class TokenCacheUnavailable(Exception):
    """The replay check or the fan-out could not reach the token cache."""


def invalid(description: str) -> Refused:
    return Refused("invalid_request", description)


# RFC 8935 §2.4's ``err`` and description for each check of jws.py that fails.
UNVERIFIED = {
    jws.NOT_COMPACT: ("invalid_request", "The body is not a JWS in compact serialization."),
    jws.HEADER: ("invalid_request", "The SET's header is not a JSON object."),
    jws.ALG: ("invalid_key", f"The SET must be signed with {ALGORITHM}."),
    jws.TYP: ("invalid_request", f"The SET's typ must be {TYPE}."),
    jws.KID: ("invalid_key", "The SET's kid names no key of the authorization server."),
    jws.SIGNATURE: ("invalid_key", "The SET's signature does not verify with the authorization server's key."),
    jws.PAYLOAD: ("invalid_request", "The SET's payload is not a JSON object."),
}


def verified_claims(compact: str) -> dict:
    """The claims of a SET signed by the AS's key; raises Refused."""
    try:
        return jws.verified_claims(compact, alg=ALGORITHM, typ=TYPE)
    except jws.Unverified as error:
        raise Refused(*UNVERIFIED[error.check]) from error


def check_claims(claims: dict) -> None:
    """RFC 8417 §2.2's claims of a SET meant for this API; raises Refused."""
    if claims.get("iss") != introspection_settings.ISSUER:
        raise Refused("invalid_issuer", "The SET's iss is not this API's authorization server.")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if introspection_settings.RESOURCE not in audiences:
        raise Refused("invalid_audience", "The SET's aud does not name this API.")
    iat, now = claims.get("iat"), time.time()
    if isinstance(iat, bool) or not isinstance(iat, int):
        raise invalid("The SET's iat must be a number of seconds.")
    if iat < now - introspection_settings.EVENTS_MAX_AGE:
        raise invalid("The SET is stale: its iat is too old.")
    if iat > now + jws.CLOCK_SKEW_SECONDS:
        raise invalid("The SET's iat is in the future.")
    jti = claims.get("jti")
    if not (isinstance(jti, str) and 0 < len(jti) <= MAX_JTI):
        raise invalid(f"The SET's jti must be a string of 1 to {MAX_JTI} characters.")


def opaque_id(sub_id: dict) -> str:
    value = sub_id.get("id")
    if sub_id.get("format") != "opaque" or not isinstance(value, str) or not value:
        raise invalid("The event's sub_id must be of the opaque format.")
    return value


def revocation(claims: dict) -> tuple[str, str]:
    """What the SET's one event revokes, as revocations.py names it; raises Refused."""
    events = claims.get("events")
    if not (isinstance(events, dict) and len(events) == 1):
        raise invalid("The SET must carry exactly one event.")
    [(event_type, payload)] = events.items()
    sub_id = claims.get("sub_id")
    if not (isinstance(payload, dict) and isinstance(sub_id, dict)):
        raise invalid("The SET's event and its sub_id must be JSON objects.")
    if event_type == SESSION_REVOKED:
        token_hash = opaque_id(sub_id)
        if not SHA256_HEX.fullmatch(token_hash):
            raise invalid("A session-revoked sub_id is the token's SHA-256, in hex.")
        return "token", token_hash
    if event_type == ACCOUNT_DISABLED:
        sub = sub_id.get("sub")
        if sub_id.get("format") != "iss_sub" or sub_id.get("iss") != introspection_settings.ISSUER:
            raise invalid("An account-disabled sub_id must be of the iss_sub format, with this API's issuer.")
        if not isinstance(sub, str) or not sub:
            raise invalid("An account-disabled sub_id must name a subject.")
        return "sub", sub
    if event_type == CREDENTIAL_CHANGE:
        return "client_id", opaque_id(sub_id)
    if event_type == STREAM_UPDATED:
        if opaque_id(sub_id) != introspection_settings.RESOURCE:
            raise invalid("The stream-updated event names another API.")
        return "all", ""
    raise invalid("The SET's event type is not one this API acts on.")


def replay_key(claims: dict) -> str:
    return REPLAY_PREFIX + hashlib.sha256(f"{claims['iss']}\n{claims['jti']}".encode()).hexdigest()


def check_new(claims: dict) -> None:
    """A SET is applied once: a replay within its max age is refused (after the age check bounds the record)."""
    seconds = introspection_settings.EVENTS_MAX_AGE + 60
    try:
        new = cache.shared_cache().add(replay_key(claims), 1, timeout=seconds)
    except Exception as error:  # any backend's outage
        raise TokenCacheUnavailable() from error
    if not new:
        raise invalid("The SET was already received (its jti is not new).")


def forget_replay_record(claims: dict) -> None:
    """Undo check_new when the SET could not be applied: the AS's retry must not be refused as a replay."""
    try:
        cache.shared_cache().delete(replay_key(claims))
    except Exception as error:  # the cache is down: the retry is refused; the caching window bounds the damage
        refusal_log.warning("token cache unavailable, replay record kept: %s", type(error).__name__)


def refusal(error: Refused) -> JsonResponse:
    refusal_log.warning("security event refused: %s: %s", error.err, error.description)
    metrics.notice_refused(error.err)
    return JsonResponse({"err": error.err, "description": error.description}, status=error.status)


def unavailable(what: str, reason: str) -> JsonResponse:
    """503: the AS retries (RFC 8935 §2.4 leaves other failures to HTTP). ``reason``: ``what`` in metrics' words."""
    metrics.notice_refused(reason)
    response = JsonResponse(
        {"error": "temporarily_unavailable", "error_description": f"The {what} is unavailable; retry later."},
        status=503,
    )
    response["Retry-After"] = "1"
    return response


def body(request) -> str:
    if request.content_type != CONTENT_TYPE:
        raise invalid(f"The request must be a SET of Content-Type {CONTENT_TYPE} (RFC 8935 §2).")
    data = request.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Refused("invalid_request", f"The SET is larger than {MAX_BYTES} bytes.", status=413)
    try:
        return data.decode("ascii").strip()
    except UnicodeDecodeError as error:
        raise invalid("The body is not a JWS in compact serialization.") from error


@csrf_exempt
@require_POST
def receive(request):
    """``POST /security-events/``: 202 when applied, 400 when refused, 503 when it cannot be applied now."""
    try:
        claims = verified_claims(body(request))
        check_claims(claims)
        kind, value = revocation(claims)
        check_new(claims)
    except Refused as error:
        return refusal(error)
    except jwks.JWKSUnavailable:
        return unavailable("authorization server's JWKS", metrics.JWKS)
    except TokenCacheUnavailable as error:
        log.warning("security event not applied, token cache unavailable: %s", type(error.__cause__).__name__)
        return unavailable("token cache", metrics.CACHE)
    try:
        revocations.publish(kind, value)
    except Exception as error:  # applied in this process only: the AS's retry reaches the others
        log.warning("security event applied in one process only, token cache unavailable: %s", type(error).__name__)
        forget_replay_record(claims)
        return unavailable("token cache", metrics.CACHE)
    metrics.notice_accepted(claims["iat"])
    event = next(iter(claims["events"])).rsplit("/", 1)[-1]
    log.info("security event %s applied: %s (txn %s)", claims["jti"], event, claims.get("txn", "-"))
    return HttpResponse(status=202)
