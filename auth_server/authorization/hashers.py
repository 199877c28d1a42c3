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

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_noop as _


class ClientSecretHasher(BasePasswordHasher):
    algorithm = "client_secret_sha256"

    def encode(self, password, salt):
        self._check_encode_args(password, salt)
        digest = hashlib.sha256(f"{salt}{password}".encode()).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded):
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
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
