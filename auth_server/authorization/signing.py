"""JWTs this issuer signs with its OpenID Connect key: Security Event Tokens (RFC 8417) and
introspection answers (RFC 9701).

The key is DOT's ``OIDC_RSA_PRIVATE_KEY``, its ``kid`` the thumbprint DOT's JWKS
publishes, so an API verifies every one against the JWKS it already fetches.
Parsing the PEM costs about 40 ms for a 2048-bit key and signing about 0.6 ms:
the parsed key comes from DOT's ``jwk_from_pem``, cached by the PEM itself, so a
changed key (a rotation, ``override_settings``) is used by the next signature.
"""

import time

from jwcrypto import jwt
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem


def sign(claims: dict, typ: str) -> str:
    """The compact JWS of ``claims``, RS256, with ``iat`` the moment it is signed."""
    key = jwk_from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY)
    header = {"alg": "RS256", "typ": typ, "kid": key.thumbprint()}
    token = jwt.JWT(header=header, claims={**claims, "iat": int(time.time())})
    token.make_signed_token(key)
    return token.serialize()
