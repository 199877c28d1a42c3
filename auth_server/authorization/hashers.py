"""A fast hasher for high-entropy client secrets.

DOT hashes client secrets with Django's default password hasher (PBKDF2, about
190 ms a check), which credentials-mode introspection pays on every call. Key
stretching protects guessable human passwords; a client secret generated with
128 or more random bits cannot be guessed however fast the hash, so a salted
SHA-256 keeps the same protection for a leaked database at a microsecond's cost.
Only client secrets use it (``OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"]``); user
passwords keep PBKDF2.
"""

import hashlib

from django.contrib.auth.hashers import BasePasswordHasher, check_password, mask_hash
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_noop as _
from oauth2_provider.settings import oauth2_settings


def check_client_secret(secret: str, encoded: str, setter=None) -> bool:
    """Check a client secret; ``setter(secret)`` runs when the hash should move to CLIENT_SECRET_HASHER.

    Without ``preferred``, Django would call a hash "outdated" unless it used the
    first of PASSWORD_HASHERS (PBKDF2, kept first for user passwords), so an
    upgraded database would keep paying PBKDF2 on every client authentication.
    """
    return check_password(secret, encoded, setter, preferred=oauth2_settings.CLIENT_SECRET_HASHER)


class ClientSecretHasher(BasePasswordHasher):
    algorithm = "client_secret_sha256"

    def encode(self, password, salt):
        self._check_encode_args(password, salt)
        digest = hashlib.sha256(f"{salt}{password}".encode()).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded):
        algorithm, salt, digest = encoded.split("$", 2)
        if algorithm != self.algorithm:
            raise ValueError(f"not a {self.algorithm} hash")
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password, encoded):
        decoded = self.decode(encoded)
        return constant_time_compare(encoded, self.encode(password, decoded["salt"]))

    def safe_summary(self, encoded):
        decoded = self.decode(encoded)
        return {
            _("algorithm"): decoded["algorithm"],
            _("salt"): mask_hash(decoded["salt"], show=2),
            _("hash"): mask_hash(decoded["hash"]),
        }

    def harden_runtime(self, password, encoded):
        pass
