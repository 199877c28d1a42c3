"""Signed messages of a stand-in authorization server, for the receivers' tests: its keys, and JWSs
made right or wrong on purpose (``alg`` none by hand: jwcrypto refuses to make one)."""

import base64
import json

from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

AS_KEY = JWK.generate(kty="RSA", size=2048)
AS_KID = AS_KEY.thumbprint()
FOREIGN_KEY = JWK.generate(kty="RSA", size=2048)


def signed(payload, key: JWK = AS_KEY, **header) -> str:
    """The compact JWS of ``payload`` (a string as it is, else as JSON), RS256 under the AS's kid unless
    ``header`` says otherwise."""
    jws = JWS(payload if isinstance(payload, str) else json.dumps(payload))
    jws.add_signature(key, None, json.dumps({"alg": "RS256", "kid": AS_KID, **header}))
    return jws.serialize(compact=True)


def b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def unsigned(payload: dict, typ: str) -> str:
    """alg none."""
    return f"{b64({'alg': 'none', 'typ': typ, 'kid': AS_KID})}.{b64(payload)}."
