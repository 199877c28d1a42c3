from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.test import SimpleTestCase, override_settings

from config.settings import base


class ClientSecretHasherTests(SimpleTestCase):
    def test_secret_round_trips_and_wrong_secret_fails(self):
        encoded = make_password("s3cret-value", hasher="client_secret_sha256")

        self.assertTrue(encoded.startswith("client_secret_sha256$"))
        self.assertTrue(check_password("s3cret-value", encoded))
        self.assertFalse(check_password("s3cret-valuf", encoded))

    def test_each_secret_gets_its_own_salt(self):
        first = make_password("same", hasher="client_secret_sha256")
        second = make_password("same", hasher="client_secret_sha256")

        self.assertNotEqual(first, second)

    def test_summary_masks_the_hash(self):
        encoded = make_password("s3cret-value", hasher="client_secret_sha256")

        summary = identify_hasher(encoded).safe_summary(encoded)

        self.assertNotIn(encoded.split("$")[2], str(summary))

    # The shipped list: the test settings put a fast hasher first.
    @override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS)
    def test_user_passwords_keep_pbkdf2(self):
        self.assertTrue(make_password("a user's password").startswith("pbkdf2_sha256$"))
