"""A compact JWS signed by the authorization server (RFC 7515), verified against its JWKS.

What its Security Event Tokens (security_events.py) and its signed introspection
answers (signed_response.py) share. The header is read before any key is chosen:
the caller pins the algorithm (never the one the header asks for: ``none`` and
an HS256 made with a secret the attacker knows would otherwise pass, RFC 8725
§2.1, §3.1) and the ``typ`` (RFC 8725 §3.11: another JWT of the same issuer,
an ID token, must not pass for this one); the ``kid`` chooses among the AS's keys.
"""

import base64
import binascii
import json
import re

from jwcrypto.common import JWException
from jwcrypto.jws import JWS

from . import jwks

# An ``iat`` this far ahead of our clock is a difference between the two servers' clocks; further is refused.
CLOCK_SKEW_SECONDS = 30
COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

# The checks, in the order they are made: Unverified.check names the one that failed.
NOT_COMPACT = "compact"
HEADER = "header"
ALG = "alg"
TYP = "typ"
KID = "kid"
SIGNATURE = "signature"
PAYLOAD = "payload"


class Unverified(Exception):
    """The JWS failed ``check``; each receiver answers it in its own protocol's words."""

    def __init__(self, check: str):
        super().__init__(check)
        self.check = check


def header_of(compact: str) -> dict:
    """The protected header, read before any key is chosen."""
    part = compact.partition(".")[0]
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise Unverified(HEADER)
    return value


def verified_claims(compact: str, *, alg: str, typ: str) -> dict:
    """The JSON object a JWS of the AS signed with ``alg``, of header ``typ``, carries.

    Raises Unverified; jwks.JWKSUnavailable passes through (whether it is genuine
    cannot be told now).
    """
    if not COMPACT.fullmatch(compact):
        raise Unverified(NOT_COMPACT)
    header = header_of(compact)
    if header.get("alg") != alg:
        raise Unverified(ALG)
    if header.get("typ") != typ:
        raise Unverified(TYP)
    kid = header.get("kid")
    key = jwks.keys.key(kid) if isinstance(kid, str) and kid else None
    if key is None:
        raise Unverified(KID)
    jws = JWS()
    try:
        jws.deserialize(compact)
        jws.verify(key, alg=alg)
    except (JWException, ValueError) as error:
        raise Unverified(SIGNATURE) from error
    try:
        claims = json.loads(jws.payload)
    except (ValueError, RecursionError):
        claims = None
    if not isinstance(claims, dict):
        raise Unverified(PAYLOAD)
    return claims
