from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, override_settings

from introspection.conf import from_environment, introspection_settings


class IntrospectionSettingsTests(SimpleTestCase):
    def test_defaults_apply_to_what_the_project_does_not_set(self):
        self.assertEqual(introspection_settings.LOCAL_CACHE_SECONDS, 2)
        self.assertEqual(introspection_settings.SCOPES, ["read", "write", "notes"])
        self.assertEqual(introspection_settings.SCOPE_PREFIX, "")
        self.assertEqual(introspection_settings.REALM, "api")
        # The AS's issuer: the introspection URL's origin (config/settings/test.py).
        self.assertEqual(introspection_settings.AUTHORIZATION_SERVERS, ["http://as.invalid"])
        # Security event tokens: issued by it, signed by the keys next to its introspection endpoint.
        self.assertEqual(introspection_settings.ISSUER, "http://as.invalid")
        self.assertEqual(introspection_settings.JWKS_URL, "http://as.invalid/o/.well-known/jwks.json")
        self.assertEqual(introspection_settings.EVENTS_MAX_AGE, 120)
        # Signed introspection answers: off; when on, RS256, naming the credentials' client_id.
        self.assertIs(introspection_settings.INTROSPECTION_SIGNED, False)
        self.assertEqual(introspection_settings.INTROSPECTION_SIGNING_ALG, "RS256")
        self.assertEqual(introspection_settings.CLIENT_ID, "rs")

    def test_environment_strings_are_read_as_their_values(self):
        with override_settings(
            RESOURCE_SERVER_TOKEN_CACHING_SECONDS="30",
            RESOURCE_SERVER_INTROSPECTION_TIMEOUT="1.5",
            RESOURCE_SERVER_REQUIRE_AUDIENCE="true",
            RESOURCE_SERVER_SCOPES="team:read  team:write",
            RESOURCE_SERVER_AUTHORIZATION_SERVERS="https://as.example, https://other.example",
            RESOURCE_SERVER_INTROSPECTION_CREDENTIALS="rs:se:cret",
            RESOURCE_SERVER_INTROSPECTION_SIGNED="true",
            RESOURCE_SERVER_INTROSPECTION_SIGNING_ALG="PS256",
            RESOURCE_SERVER_CLIENT_ID="rs",
        ):
            self.assertEqual(introspection_settings.TOKEN_CACHING_SECONDS, 30)
            self.assertEqual(introspection_settings.INTROSPECTION_TIMEOUT, 1.5)
            self.assertIs(introspection_settings.REQUIRE_AUDIENCE, True)
            self.assertEqual(introspection_settings.SCOPES, ["team:read", "team:write"])
            self.assertEqual(
                introspection_settings.AUTHORIZATION_SERVERS, ["https://as.example", "https://other.example"]
            )
            self.assertEqual(introspection_settings.INTROSPECTION_CREDENTIALS, ("rs", "se:cret"))
            self.assertIs(introspection_settings.INTROSPECTION_SIGNED, True)
            self.assertEqual(introspection_settings.INTROSPECTION_SIGNING_ALG, "PS256")
            self.assertEqual(introspection_settings.CLIENT_ID, "rs")
        # override_settings ended: the values are read again.
        self.assertEqual(introspection_settings.TOKEN_CACHING_SECONDS, 60)
        self.assertEqual(introspection_settings.INTROSPECTION_CREDENTIALS, ("rs", "secret"))

    def test_bad_values_are_one_line_naming_the_setting(self):
        cases = {
            "RESOURCE_SERVER_TOKEN_CACHING_SECONDS": [-1, "-1", "soon", 1.5, True],
            "RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS": [-1],
            "RESOURCE_SERVER_LOCAL_CACHE_SECONDS": ["two"],
            "RESOURCE_SERVER_INTROSPECTION_TIMEOUT": [0, "-1", "nan", "inf", "x"],
            "RESOURCE_SERVER_REQUIRE_AUDIENCE": ["maybe"],
            "RESOURCE_SERVER_INTROSPECTION_URL": ["", "as.example/introspect"],
            "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": ["no-secret", ":secret", ("rs",)],
            "RESOURCE_SERVER_RESOURCE": ["", "/api/", "https://api.example/#x"],
            "RESOURCE_SERVER_SCOPES": ["read\\x", 'read "write"', ["read", ""]],
            "RESOURCE_SERVER_SCOPE_PREFIX": ["team :", 'te"am'],
            "RESOURCE_SERVER_ISSUER": ["as.example", "ftp://as.example"],
            "RESOURCE_SERVER_JWKS_URL": ["/o/.well-known/jwks.json"],
            "RESOURCE_SERVER_EVENTS_MAX_AGE": [0, "0", -1, "soon"],
            "RESOURCE_SERVER_INTROSPECTION_SIGNED": ["maybe", 1],
            # RFC 8725 §3.1: never none, never a secret shared with the AS (HS*); only what jwcrypto verifies.
            "RESOURCE_SERVER_INTROSPECTION_SIGNING_ALG": ["none", "None", "HS256", "HS512", "rs256", "RS1", "", None],
            "RESOURCE_SERVER_CLIENT_ID": [7],
        }
        for name, values in cases.items():
            for value in values:
                with self.subTest(name=name, value=value), override_settings(**{name: value}):
                    with self.assertRaises(ImproperlyConfigured) as raised:
                        introspection_settings.check_all()
                    self.assertIn(name, str(raised.exception))
                    self.assertNotIn("\n", str(raised.exception))

    def test_exactly_one_way_to_authenticate_to_the_introspection_endpoint(self):
        for token, credentials, found in (("t", "rs:secret", "both are set"), (None, "", "neither is set")):
            with (
                self.subTest(found=found),
                override_settings(
                    RESOURCE_SERVER_AUTH_TOKEN=token, RESOURCE_SERVER_INTROSPECTION_CREDENTIALS=credentials
                ),
                self.assertRaisesMessage(ImproperlyConfigured, f"({found})"),
            ):
                introspection_settings.check_all()

    def test_the_client_id_is_the_credentials_one(self):
        for configured in ("", "rs"):
            with self.subTest(configured=configured), override_settings(RESOURCE_SERVER_CLIENT_ID=configured):
                self.assertEqual(introspection_settings.CLIENT_ID, "rs")

    @override_settings(RESOURCE_SERVER_CLIENT_ID="other")
    def test_a_client_id_other_than_the_credentials_one_is_refused(self):
        with self.assertRaises(ImproperlyConfigured) as raised:
            introspection_settings.check_all()

        self.assertEqual(
            str(raised.exception),
            "RESOURCE_SERVER_CLIENT_ID ('other') must be the client_id of "
            "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS ('rs'), or empty.",
        )

    @override_settings(RESOURCE_SERVER_AUTH_TOKEN="rs-token", RESOURCE_SERVER_INTROSPECTION_CREDENTIALS=None)
    def test_in_token_mode_signed_answers_need_the_client_id(self):
        with override_settings(RESOURCE_SERVER_INTROSPECTION_SIGNED=True):
            with self.assertRaises(ImproperlyConfigured) as raised:
                introspection_settings.check_all()
            self.assertIn("Set RESOURCE_SERVER_CLIENT_ID to this API's client_id", str(raised.exception))
            self.assertNotIn("\n", str(raised.exception))

            with override_settings(RESOURCE_SERVER_CLIENT_ID="notes-api"):
                introspection_settings.check_all()
                self.assertEqual(introspection_settings.CLIENT_ID, "notes-api")

        # Unsigned answers name no audience: nothing to set.
        introspection_settings.check_all()
        self.assertEqual(introspection_settings.CLIENT_ID, "")

    def test_an_unknown_name_is_an_attribute_error(self):
        with self.assertRaises(AttributeError):
            introspection_settings.NO_SUCH_SETTING  # noqa: B018


class FromEnvironmentTests(SimpleTestCase):
    def test_only_the_apps_variables_that_are_set(self):
        environ = {
            "RESOURCE_SERVER_SCOPES": "read",
            "RESOURCE_SERVER_INTROSPECTION_SIGNED": "true",
            "RESOURCE_SERVER_CLIENT_ID": "",
            "RESOURCE_SERVER_REALM": "",
            "RESOURCE_SERVER_UNKNOWN": "x",
            "RS_SECRET_KEY": "x",
        }

        self.assertEqual(
            from_environment(environ),
            {"RESOURCE_SERVER_SCOPES": "read", "RESOURCE_SERVER_INTROSPECTION_SIGNED": "true"},
        )
