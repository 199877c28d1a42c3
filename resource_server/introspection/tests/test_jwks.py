import json
from unittest import mock

import requests
from django.test import SimpleTestCase, override_settings
from jwcrypto.jwk import JWK

from introspection import jwks

KEY = JWK.generate(kty="RSA", size=2048)
KID = KEY.thumbprint()


def answer(status=200, body=None):
    """What requests.get returns for the AS's JWKS view."""
    public = {**KEY.export_public(as_dict=True), "kid": KID, "use": "sig"}
    content = json.dumps({"keys": [public]} if body is None else body).encode()
    return mock.Mock(status_code=status, content=content)


@override_settings(RESOURCE_SERVER_INTROSPECTION_TIMEOUT=1.5)
class FetchTests(SimpleTestCase):
    def test_the_keys_come_from_the_jwks_url_by_kid_with_the_timeout(self):
        with mock.patch("requests.get", return_value=answer()) as get:
            keys = jwks.fetch()

        self.assertEqual(list(keys), [KID])
        self.assertEqual(keys[KID].thumbprint(), KID)
        self.assertFalse(keys[KID].has_private)
        url = get.call_args.args[0]
        self.assertEqual(url, "http://as.invalid/o/.well-known/jwks.json")
        self.assertEqual(get.call_args.kwargs["timeout"], 1.5)
        self.assertIs(get.call_args.kwargs["allow_redirects"], False)

    def test_keys_without_kid_or_for_encryption_are_left_out(self):
        public = KEY.export_public(as_dict=True)
        body = {"keys": [public, {**public, "kid": "enc", "use": "enc"}]}
        with mock.patch("requests.get", return_value=answer(body=body)):
            self.assertEqual(jwks.fetch(), {})

    def test_an_unreachable_failing_or_garbled_jwks_is_unavailable(self):
        failures = {
            "timeout": {"side_effect": requests.Timeout()},
            "HTTP 500": {"return_value": answer(status=500)},
            "not a key set": {"return_value": answer(body={"keys": "none"})},
            "not JSON": {"return_value": mock.Mock(status_code=200, content=b"<html>")},
            "too large": {"return_value": mock.Mock(status_code=200, content=b" " * (jwks.MAX_BYTES + 1))},
        }
        for name, behaviour in failures.items():
            with self.subTest(name), mock.patch("requests.get", **behaviour), self.assertRaises(jwks.JWKSUnavailable):
                jwks.fetch()


class KeySetTests(SimpleTestCase):
    def setUp(self):
        self.now = 1000.0
        self.keys = jwks.KeySet(timer=lambda: self.now)
        patcher = mock.patch.object(jwks, "fetch", return_value={KID: KEY})
        self.fetch = patcher.start()
        self.addCleanup(patcher.stop)

    def test_a_known_kid_is_fetched_once(self):
        for _ in range(3):
            self.assertIs(self.keys.key(KID), KEY)

        self.assertEqual(self.fetch.call_count, 1)

    def test_junk_kids_refetch_at_most_once_per_interval_and_are_unknown_only_after_a_refetch(self):
        self.keys.key(KID)
        for number in range(50):  # within the interval: unavailable (503), no call
            with self.assertRaises(jwks.JWKSUnavailable):
                self.keys.key(f"junk-{number}")
        self.assertEqual(self.fetch.call_count, 1)

        self.now += jwks.REFETCH_SECONDS
        self.assertIsNone(self.keys.key("junk"))  # the AS's keys, just fetched, have none of that name
        with self.assertRaises(jwks.JWKSUnavailable):
            self.keys.key("junk")
        self.assertEqual(self.fetch.call_count, 2)

    def test_the_interval_is_shorter_than_the_as_retries_of_one_notice(self):
        # set_push.py retries after 0.25, 0.5, 1, 2 and 4 s: a retry lands past the interval with one to spare.
        self.assertLess(jwks.REFETCH_SECONDS, 0.25 + 0.5 + 1 + 2)

    def test_a_notice_under_a_key_rotated_to_within_the_interval_is_retried_then_found(self):
        # The AS restarted with a new key 1 s after this process fetched its JWKS.
        self.keys.key(KID)
        self.now += 1
        self.fetch.return_value = {KID: KEY, "new": KEY}
        with self.assertRaises(jwks.JWKSUnavailable):  # 503: the AS retries
            self.keys.key("new")

        self.now += jwks.REFETCH_SECONDS  # its retry

        self.assertIs(self.keys.key("new"), KEY)

    def test_a_rotated_key_is_found_by_a_refetch(self):
        self.keys.key(KID)
        self.now += jwks.REFETCH_SECONDS
        self.fetch.return_value = {"new": KEY}

        self.assertIs(self.keys.key("new"), KEY)

    def test_a_failed_fetch_is_retried_after_a_second_not_on_every_notice(self):
        self.fetch.side_effect = jwks.JWKSUnavailable()
        for _ in range(3):  # unavailable (503, the AS retries), not unknown (400, it gives up)
            with self.assertRaises(jwks.JWKSUnavailable):
                self.keys.key(KID)
        self.assertEqual(self.fetch.call_count, 1)  # within the second: no call

        self.now += jwks.RETRY_SECONDS
        self.fetch.side_effect = None
        self.assertIs(self.keys.key(KID), KEY)

    def test_a_key_the_as_no_longer_publishes_stops_verifying_once_the_keys_are_stale(self):
        self.assertIs(self.keys.key(KID), KEY)
        self.fetch.return_value = {"new": KEY}  # the AS dropped KID

        self.now += jwks.MAX_AGE_SECONDS - 0.1
        self.assertIs(self.keys.key(KID), KEY)  # fresh still: no call
        self.assertEqual(self.fetch.call_count, 1)

        self.now += 0.1
        self.assertIsNone(self.keys.key(KID))
        self.assertEqual(self.fetch.call_count, 2)

    def test_a_key_the_as_still_publishes_keeps_verifying_with_one_refetch(self):
        self.keys.key(KID)
        self.now += jwks.MAX_AGE_SECONDS

        for _ in range(3):
            self.assertIs(self.keys.key(KID), KEY)
            self.now += 1

        self.assertEqual(self.fetch.call_count, 2)

    def test_stale_keys_whose_refetch_fails_verify_nothing(self):
        self.keys.key(KID)
        self.now += jwks.MAX_AGE_SECONDS
        self.fetch.side_effect = jwks.JWKSUnavailable()

        for _ in range(3):  # fail closed: 503, whose retry the AS makes; no call within the second
            with self.assertRaises(jwks.JWKSUnavailable):
                self.keys.key(KID)
        self.assertEqual(self.fetch.call_count, 2)

        self.now += jwks.RETRY_SECONDS
        self.fetch.side_effect = None
        self.assertIs(self.keys.key(KID), KEY)
        self.assertEqual(self.fetch.call_count, 3)

    def test_junk_kids_on_stale_keys_still_refetch_at_most_once_per_interval(self):
        self.keys.key(KID)
        self.now += jwks.MAX_AGE_SECONDS
        self.assertIsNone(self.keys.key("junk"))  # the refetch the stale keys were due
        for number in range(50):
            with self.assertRaises(jwks.JWKSUnavailable):
                self.keys.key(f"junk-{number}")
        self.assertIs(self.keys.key(KID), KEY)  # fresh again

        self.assertEqual(self.fetch.call_count, 2)
