"""The ID token signing keys, from the environment: RSA private keys in PEM, base64-encoded on one line.

One line, because a multi-line PEM does not survive Compose's or kustomize's env
files. A PEM as it is (``-----BEGIN``...) is accepted too, for secret stores that
keep line breaks. The settings read this before Django is set up: no models here.
"""

import base64
import binascii

from django.core.exceptions import ImproperlyConfigured
from jwcrypto import jwk

HOW_TO_MAKE_ONE = "`make env` writes one for a new .env, `python3 -m shared.dotenv --add-missing` to an existing one"


def pem_of(name: str, value: str) -> str:
    """The PEM of one encoded key, or ImproperlyConfigured naming ``name`` in one line."""
    value = value.strip()
    try:
        pem = value if value.startswith("-----BEGIN") else base64.b64decode(value, validate=True).decode("ascii")
        key = jwk.JWK.from_pem(pem.encode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            f"{name} is not an RSA private key in PEM, base64-encoded on one line ({error.__class__.__name__}); "
            f"{HOW_TO_MAKE_ONE} (docs/openid-connect.md)."
        ) from None
    if key.key_type != "RSA" or not key.has_private:
        raise ImproperlyConfigured(f"{name} must be an RSA private key (RS256); {HOW_TO_MAKE_ONE}.")
    return pem


def signing_key(name: str, value: str) -> str:
    if not value.strip():
        raise ImproperlyConfigured(f"{name} is not set: the AS signs ID tokens with it; {HOW_TO_MAKE_ONE}.")
    return pem_of(name, value)


def inactive_keys(name: str, value: str) -> list[str]:
    """Each key of a comma-separated list; empty entries are skipped, as DOT raises ValueError on one."""
    return [pem_of(f"{name} (key {number})", key) for number, key in enumerate(value.split(","), 1) if key.strip()]
