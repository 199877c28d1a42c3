import os
from io import StringIO
from unittest import mock

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.core.management import CommandError, call_command
from django.test import TestCase

from authorization.introspection import checksum
from authorization.models import ResourceServer

from .factories import AccessToken, Application

ENVIRONMENT = {
    "OAUTH_RS_CLIENT_ID": "rs",
    "OAUTH_RS_CLIENT_SECRET": "rs-secret-1",
    "OAUTH_RS_INTROSPECTION_TOKEN": "introspection-token-1",
    "DEMO_USERNAME": "demo",
    "DEMO_PASSWORD": "demo-password-1",
    "DEMO_CLIENT_ID": "machine",
    "DEMO_CLIENT_SECRET": "machine-secret-1",
    "DEMO_PUBLIC_CLIENT_ID": "public",
    "DEMO_REDIRECT_URI": "https://127.0.0.1:8765/callback",
}


def seed(**changes) -> str:
    out = StringIO()
    with mock.patch.dict(os.environ, {**ENVIRONMENT, **changes}):
        call_command("seed", stdout=out)
    return out.getvalue()


class SeedTests(TestCase):
    def test_seeding_twice_creates_nothing_new(self):
        seed()
        output = seed()

        self.assertEqual(Application.objects.count(), 3)
        self.assertEqual(AccessToken.objects.count(), 1)
        self.assertEqual(get_user_model().objects.count(), 1)
        self.assertEqual(ResourceServer.objects.count(), 1)
        self.assertEqual(output.count("unchanged"), 4)

    def test_resource_server_client_may_introspect_and_has_a_token(self):
        seed()

        rs = Application.objects.get(client_id="rs")
        self.assertTrue(ResourceServer.may_introspect(rs))
        token = AccessToken.objects.get(application=rs)
        self.assertEqual(token.scope, "introspection")
        self.assertEqual(token.token_checksum, checksum("introspection-token-1"))
        self.assertEqual(token.token, "")  # RFC 9700 §4: not stored in clear

    def test_changed_secrets_are_rotated(self):
        seed()
        seed(
            OAUTH_RS_CLIENT_SECRET="rs-secret-2",
            OAUTH_RS_INTROSPECTION_TOKEN="introspection-token-2",
            DEMO_PASSWORD="demo-password-2",
        )

        rs = Application.objects.get(client_id="rs")
        self.assertTrue(check_password("rs-secret-2", rs.client_secret))
        self.assertFalse(check_password("rs-secret-1", rs.client_secret))
        tokens = AccessToken.objects.filter(application=rs)
        self.assertEqual([t.token_checksum for t in tokens], [checksum("introspection-token-2")])
        self.assertTrue(get_user_model().objects.get(username="demo").check_password("demo-password-2"))

    def test_client_secrets_use_the_fast_hasher_and_never_reach_the_output(self):
        output = seed()

        self.assertTrue(Application.objects.get(client_id="machine").client_secret.startswith("client_secret_sha256$"))
        for name, value in ENVIRONMENT.items():
            if "SECRET" in name or "PASSWORD" in name or "TOKEN" in name:
                self.assertNotIn(value, output)

    def test_public_client_requires_pkce_and_has_no_secret(self):
        seed()

        public = Application.objects.get(client_id="public")
        self.assertEqual(public.client_type, Application.CLIENT_PUBLIC)
        self.assertEqual(public.redirect_uris, "https://127.0.0.1:8765/callback")

    def test_missing_variables_are_skipped_with_a_notice(self):
        output = seed(DEMO_CLIENT_ID="", DEMO_CLIENT_SECRET="")

        self.assertIn("DEMO_CLIENT_ID and DEMO_CLIENT_SECRET: not set, skipped", output)
        self.assertFalse(Application.objects.filter(client_id="machine").exists())

    def test_an_unchanged_secret_still_hashed_with_pbkdf2_is_rehashed(self):
        seed()
        Application.objects.filter(client_id="rs").update(
            client_secret=make_password("rs-secret-1", hasher="pbkdf2_sha256")
        )

        output = seed()

        rs = Application.objects.get(client_id="rs")
        self.assertTrue(rs.client_secret.startswith("client_secret_sha256$"))
        self.assertTrue(check_password("rs-secret-1", rs.client_secret))
        self.assertIn("seed: first API rs: updated (client)", output)

    def test_a_disabled_resource_server_stays_disabled(self):
        seed()
        ResourceServer.objects.update(enabled=False)

        output = seed()

        self.assertFalse(ResourceServer.objects.get().enabled)
        self.assertIn("seed: first API rs: disabled, left disabled", output)


class SeedApiTests(TestCase):
    """The seed registers the example APIs as register_resource_server would."""

    def test_both_apis_are_registered_with_their_resources_and_scopes(self):
        output = seed(
            RESOURCE_SERVER_RESOURCE="http://127.0.0.1:8001/",
            RESOURCE_SERVER_SCOPES="read write notes",
            OAUTH_RS_TEAM_CLIENT_ID="team-api",
            OAUTH_RS_TEAM_CLIENT_SECRET="team-secret-1",
            TEAM_RESOURCE_SERVER_RESOURCE="http://127.0.0.1:8002/",
            TEAM_RESOURCE_SERVER_SCOPES="team:read team:write team:notes",
        )

        first = ResourceServer.objects.get(application__client_id="rs")
        team = ResourceServer.objects.get(application__client_id="team-api")
        self.assertEqual((first.resource, first.scopes), ("http://127.0.0.1:8001/", "read write notes"))
        self.assertEqual((team.resource, team.scopes), ("http://127.0.0.1:8002/", "team:read team:write team:notes"))
        self.assertEqual((first.name, team.name), ("Notes API", "Team notes API"))
        self.assertTrue(check_password("team-secret-1", team.application.client_secret))
        self.assertIn("seed: team API team-api: created", output)
        self.assertNotIn("team-secret-1", output)
        # The team API has no pre-minted introspection token: it introspects with its credentials.
        self.assertFalse(AccessToken.objects.filter(application=team.application).exists())

    def test_scopes_default_to_each_apis_own(self):
        seed(OAUTH_RS_TEAM_CLIENT_ID="team-api", OAUTH_RS_TEAM_CLIENT_SECRET="team-secret-1")

        scopes = dict(ResourceServer.objects.values_list("application__client_id", "scopes"))
        self.assertEqual(scopes, {"rs": "read write notes", "team-api": "team:read team:write team:notes"})

    def test_an_api_without_resource_is_registered_without_one_and_reported(self):
        output = seed()

        self.assertIsNone(ResourceServer.objects.get().resource)
        self.assertIn("seed: first API rs: RESOURCE_SERVER_RESOURCE not set, registered without resource", output)
        self.assertIn("seed: OAUTH_RS_TEAM_CLIENT_ID and OAUTH_RS_TEAM_CLIENT_SECRET: not set, skipped", output)

    def test_a_resource_set_later_is_added_and_a_missing_one_does_not_remove_it(self):
        seed()
        added = seed(RESOURCE_SERVER_RESOURCE="http://127.0.0.1:8001/")
        kept = seed()

        self.assertIn("seed: first API rs: updated (resource, events_endpoint)", added)
        self.assertIn("seed: first API rs: unchanged", kept)
        self.assertEqual(ResourceServer.objects.get().resource, "http://127.0.0.1:8001/")

    def test_the_events_endpoint_is_at_the_resources_origin_unless_set(self):
        seed(RESOURCE_SERVER_RESOURCE="http://127.0.0.1:8001/api/")
        self.assertEqual(ResourceServer.objects.get().events_endpoint, "http://127.0.0.1:8001/security-events/")

        seed(RESOURCE_SERVER_EVENTS_ENDPOINT="http://resource-server:8000/security-events/")
        self.assertEqual(ResourceServer.objects.get().events_endpoint, "http://resource-server:8000/security-events/")

    def test_an_api_without_resource_gets_no_events_endpoint(self):
        seed()
        self.assertEqual(ResourceServer.objects.get().events_endpoint, "")

    def test_a_bad_resource_is_one_clear_error(self):
        with self.assertRaisesMessage(CommandError, "first API rs: resource: 'api.example' cannot be a resource"):
            seed(RESOURCE_SERVER_RESOURCE="api.example")

        self.assertFalse(Application.objects.exists())
