from django.test import TestCase

from authorization.scopes import ResourceServerScopes

from . import factories


class ResourceServerScopesTests(TestCase):
    def test_only_resource_servers_may_be_granted_introspection(self):
        scopes = ResourceServerScopes()
        rs = factories.application("rs", resource_server=True)
        other = factories.application("other")

        self.assertIn("introspection", scopes.get_available_scopes(application=rs))
        self.assertNotIn("introspection", scopes.get_available_scopes(application=other))
        self.assertEqual(scopes.get_default_scopes(application=other), ["read"])
