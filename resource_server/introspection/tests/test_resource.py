from django.test import SimpleTestCase

from introspection.resource import identifier_problem, metadata_url


class ResourceIdentifierTests(SimpleTestCase):
    def test_absolute_http_urls_are_identifiers(self):
        for identifier in (
            "https://api.example/",
            "https://api.example",
            "http://127.0.0.1:8001/",
            "https://a.example/v1",
        ):
            with self.subTest(identifier=identifier):
                self.assertIsNone(identifier_problem(identifier))

    def test_anything_else_is_refused_with_a_reason(self):
        for identifier in (
            "/api/",
            "api.example",
            "ftp://api.example/",
            "https://",
            "https://api.example/#top",
            "https://api.example/?tenant=1",
            "https://user:pass@api.example/",
            "https://api.example:99999/",
            "https://api.example:0/",
            "http://[::1/",
            "https://api.example/<int:pk>",
            "https://api.example/a b",
            "https://api.example/a%20b",
        ):
            with self.subTest(identifier=identifier):
                self.assertTrue(identifier_problem(identifier))

    def test_metadata_url_inserts_the_well_known_path_before_the_resource_path(self):
        # RFC 9728 §3.1, including its example of a resource with a path.
        self.assertEqual(
            metadata_url("https://resource.example.com/resource1"),
            "https://resource.example.com/.well-known/oauth-protected-resource/resource1",
        )
        self.assertEqual(
            metadata_url("http://127.0.0.1:8001/"), "http://127.0.0.1:8001/.well-known/oauth-protected-resource"
        )
        self.assertEqual(
            metadata_url("https://api.example"), "https://api.example/.well-known/oauth-protected-resource"
        )
