"""Unit tests: no .env needed, an in-memory SQLite database."""

import base64
import os

os.environ.setdefault("AS_SECRET_KEY", "unit-tests-only")


def signing_key() -> str:
    """A fresh ID token signing key, encoded as OIDC_RSA_PRIVATE_KEY is."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return base64.b64encode(pem).decode("ascii")


if "OIDC_RSA_PRIVATE_KEY" not in os.environ:
    os.environ["OIDC_RSA_PRIVATE_KEY"] = signing_key()
os.environ.setdefault("DJANGO_READ_DOT_ENV_FILE", "false")

from .base import *  # noqa: E402, F403
from .base import PASSWORD_HASHERS as SHIPPED_PASSWORD_HASHERS  # noqa: E402
from .base import logging_config  # noqa: E402

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# Refusals are the point of many tests; keep their log lines out of the report.
LOGGING = logging_config("CRITICAL")
# The suite creates and signs in users by the hundred: a fast hasher first, as Django's
# testing docs advise ("Speeding up the tests"), cuts it from minutes to seconds of
# PBKDF2. The shipped hashers follow, so what they hash still verifies, and
# test_hashers checks the shipped order itself.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *SHIPPED_PASSWORD_HASHERS]
