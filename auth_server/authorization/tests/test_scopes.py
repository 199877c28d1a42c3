from django.test import TestCase

from authorization.models import ResourceServer
from authorization.scopes import ResourceServerScopes

from . import factories
from .factories import Application
from .test_openid_connect import web_client


class ResourceServerScopesTests(TestCase):
    def setUp(self):
        self.scopes = ResourceServerScopes()
        self.rs = factories.application("rs", resource_server=True, resource="https://notes.example/")
        self.other = factories.application("other")
        team = factories.application(
            "team", resource_server=True, scopes="team:read team:x", resource="https://t.example/"
        )
        self.team = ResourceServer.objects.get(application=team)

    def test_only_resource_servers_may_be_granted_introspection(self):
        self.assertIn("introspection", self.scopes.get_available_scopes(application=self.rs))
        self.assertNotIn("introspection", self.scopes.get_available_scopes(application=self.other))
        self.assertNotIn("introspection", self.scopes.get_available_scopes())

    def test_the_scopes_offered_are_those_of_the_enabled_apis(self):
        self.assertEqual(
            sorted(self.scopes.get_available_scopes(application=self.other)),
            ["notes", "read", "team:read", "team:x", "write"],
        )
        self.team.enabled = False
        self.team.save()
        self.assertEqual(
            sorted(self.scopes.get_available_scopes()), ["email", "notes", "openid", "profile", "read", "write"]
        )

    def test_the_openid_connect_scopes_are_offered_to_clients_that_receive_id_tokens_only(self):
        web = web_client()
        self.assertLessEqual({"openid", "profile", "email"}, set(self.scopes.get_available_scopes(application=web)))
        web.algorithm = Application.NO_ALGORITHM
        for client in (web, self.other, factories.public_client()):
            self.assertFalse({"openid", "profile", "email"} & set(self.scopes.get_available_scopes(application=client)))

    def test_each_scope_has_a_description(self):
        descriptions = self.scopes.get_all_scopes()

        self.assertEqual(descriptions["read"], "Read your data")
        self.assertEqual(descriptions["team:read"], "Read your data")
        self.assertEqual(descriptions["team:x"], "team:x")  # an unknown action is shown by its name
        self.assertEqual(descriptions["introspection"], "Introspect tokens (resource servers only)")
        # OpenID Connect's scopes, in plain words.
        self.assertEqual(descriptions["openid"], "Sign you in with your account here")
        self.assertEqual(descriptions["email"], "See your email address")

    def test_the_default_scope_is_read_while_an_enabled_api_owns_it(self):
        self.assertEqual(self.scopes.get_default_scopes(application=self.other), ["read"])
        ResourceServer.objects.filter(application=self.rs).update(enabled=False)
        self.assertEqual(self.scopes.get_default_scopes(application=self.other), [])
