"""RFC 8707 resources name registered APIs; a token for some APIs carries only their scopes and only they see it."""

import base64
import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_grant_model

from authorization.models import ResourceServer

from . import factories
from .factories import AccessToken

TOKEN_URL = reverse("oauth2_provider:token")
AUTHORIZE_URL = reverse("oauth2_provider:authorize")
INTROSPECT_URL = reverse("oauth2_provider:introspect")
NOTES = "https://notes.example/"
TEAM = "https://team.example/"
REDIRECT_URI = "https://client.example/cb"
VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class ResourceIndicatorTests(TestCase):
    def setUp(self):
        factories.application("notes-api", "notes-secret", resource_server=True, resource=NOTES)
        factories.application("team-api", "team-secret", True, scopes="team:read team:write", resource=TEAM)
        ResourceServer.objects.filter(application__client_id="notes-api").update(name="Notes API")
        ResourceServer.objects.filter(application__client_id="team-api").update(name="Team notes API")
        factories.application("machine", secret="machine-secret")
        self.user = factories.user()
        self.public = factories.public_client(redirect_uri=REDIRECT_URI)

    def token(self, **data):
        return self.client.post(
            TOKEN_URL,
            {"grant_type": "client_credentials", **data},
            HTTP_AUTHORIZATION=basic("machine", "machine-secret"),
        )

    def assert_refused(self, response, error, *description):
        self.assertEqual(response.status_code, 400, response.content)
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertEqual(response.json()["error"], error)
        for text in description:
            self.assertIn(text, response.json()["error_description"])

    def test_a_resource_no_registered_api_has_is_invalid_target(self):
        for resource in ("https://payments.example/", NOTES.rstrip("/"), "https://NOTES.example/"):
            with self.subTest(resource):
                self.assert_refused(
                    self.token(scope="read", resource=resource), "invalid_target", resource, "names no API registered"
                )

    def test_a_disabled_apis_resource_is_invalid_target(self):
        ResourceServer.objects.filter(resource=TEAM).update(enabled=False)

        self.assert_refused(self.token(scope="read", resource=[NOTES, TEAM]), "invalid_target", TEAM)

    def test_a_token_for_one_api_cannot_carry_another_apis_scope(self):
        response = self.token(scope="read team:read", resource=NOTES)

        self.assert_refused(response, "invalid_scope", "'team:read' belongs to the API https://team.example/")
        self.assertFalse(AccessToken.objects.exists())

    def test_a_token_for_both_apis_may_carry_both_apis_scopes(self):
        response = self.token(scope="read team:read", resource=[NOTES, TEAM])

        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(AccessToken.objects.get().resource, [NOTES, TEAM])

    def test_a_token_without_resource_may_carry_any_apis_scopes(self):
        response = self.token(scope="read team:read")

        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(AccessToken.objects.get().resource, [])

    def test_the_default_scope_belongs_to_the_first_api(self):
        self.assertEqual(self.token(resource=NOTES).json()["scope"], "read")
        self.assert_refused(self.token(resource=TEAM), "invalid_scope", "The default scope 'read' belongs to the API")

    def test_without_an_api_owning_the_default_scope_a_request_must_name_one(self):
        ResourceServer.objects.filter(resource=NOTES).update(enabled=False)

        self.assert_refused(self.token(), "invalid_scope", "No scope was requested")
        self.assertEqual(self.token(scope="team:read").status_code, 200)

    def test_the_scopes_of_an_api_registered_without_resource_bind_nothing(self):
        ResourceServer.objects.filter(resource=NOTES).update(resource=None)

        self.assertEqual(self.token(scope="read team:read", resource=TEAM).status_code, 200)

    def authorization_request(self, **extra):
        return {
            "response_type": "code",
            "client_id": "public",
            "redirect_uri": REDIRECT_URI,
            "scope": "read",
            "state": "s",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
            **extra,
        }

    def assert_redirected_with(self, response, error):
        self.assertEqual(response.status_code, 302)
        location = urlsplit(response["Location"])
        self.assertTrue(response["Location"].startswith(REDIRECT_URI), response["Location"])
        query = parse_qs(location.query)
        self.assertEqual((query["error"], query["state"]), ([error], ["s"]))
        return query

    def test_an_authorization_request_for_an_unregistered_resource_redirects_invalid_target(self):
        self.client.force_login(self.user)

        response = self.client.get(AUTHORIZE_URL, self.authorization_request(resource="https://payments.example/"))

        query = self.assert_redirected_with(response, "invalid_target")
        self.assertIn("names no API registered", query["error_description"][0])

    def test_an_authorization_request_for_one_api_with_another_apis_scope_redirects_invalid_scope(self):
        self.client.force_login(self.user)

        response = self.client.get(AUTHORIZE_URL, self.authorization_request(scope="read team:read", resource=NOTES))

        self.assert_redirected_with(response, "invalid_scope")

    def test_the_consent_page_groups_the_scopes_by_api_and_keeps_dots_form(self):
        self.client.force_login(self.user)

        response = self.client.get(
            AUTHORIZE_URL, self.authorization_request(scope="team:read read write", resource=[TEAM, NOTES])
        )

        self.assertEqual(response.status_code, 200)
        page = response.content.decode()
        self.assertLess(page.index("<h2>Team notes API</h2>"), page.index("<code>team:read</code>"))
        self.assertLess(page.index("<code>team:read</code>"), page.index("<h2>Notes API</h2>"))
        self.assertLess(page.index("<h2>Notes API</h2>"), page.index("<code>read</code>"))
        self.assertEqual(page.count("<h2>"), 2)
        self.assertIn("Read your data", page)
        for field in ("client_id", "redirect_uri", "scope", "state", "code_challenge", "resource"):
            self.assertIn(f'name="{field}"', page)
        self.assertEqual([api["name"] for api in response.context["apis"]], ["Team notes API", "Notes API"])

    def test_a_consent_form_changed_to_another_resource_is_refused(self):
        self.client.force_login(self.user)
        consent = self.authorization_request(scope="read", allow="Authorize")

        unregistered = self.client.post(AUTHORIZE_URL, {**consent, "resource": "https://payments.example/"})
        other_api = self.client.post(AUTHORIZE_URL, {**consent, "resource": TEAM})

        self.assert_redirected_with(unregistered, "invalid_target")
        self.assert_redirected_with(other_api, "invalid_scope")
        self.assertFalse(get_grant_model().objects.exists())

    def grant(self, scope, resource):
        get_grant_model().objects.create(
            application=self.public,
            user=self.user,
            code="code",
            expires=timezone.now() + timedelta(minutes=1),
            redirect_uri=REDIRECT_URI,
            scope=scope,
            code_challenge=CHALLENGE,
            code_challenge_method="S256",
            resource=resource,
        )

    def exchange_code(self, **extra):
        data = {
            "grant_type": "authorization_code",
            "code": "code",
            "client_id": "public",
            "redirect_uri": REDIRECT_URI,
            "code_verifier": VERIFIER,
        }
        return self.client.post(TOKEN_URL, {**data, **extra})

    def test_narrowing_a_grant_to_one_api_cannot_keep_another_apis_scope(self):
        self.grant("read team:read", [NOTES, TEAM])

        self.assert_refused(self.exchange_code(resource=NOTES), "invalid_scope", "'team:read'")
        self.assertEqual(self.exchange_code().status_code, 200)  # the code was not used up

    def test_a_token_for_an_api_disabled_since_its_grant_is_invalid_target(self):
        self.grant("team:read", [TEAM])
        ResourceServer.objects.filter(resource=TEAM).update(enabled=False)

        self.assert_refused(self.exchange_code(), "invalid_target", TEAM)

    def test_a_refresh_token_of_an_api_disabled_since_is_invalid_target(self):
        self.grant("team:read", [TEAM])
        refresh_token = self.exchange_code().json()["refresh_token"]
        ResourceServer.objects.filter(resource=TEAM).update(enabled=False)

        response = self.client.post(
            TOKEN_URL, {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "public"}
        )

        self.assert_refused(response, "invalid_target", TEAM)


class IntrospectionIsolationTests(TestCase):
    """RFC 7662 §4: the AS decides what each protected resource learns; an API learns of its own tokens only."""

    def setUp(self):
        self.notes = factories.application("notes-api", "notes-secret", resource_server=True, resource=NOTES)
        self.team = factories.application("team-api", "team-secret", True, scopes="team:read", resource=TEAM)
        machine = factories.application("machine")
        user = factories.user()
        factories.access_token("for-notes", machine, resource=[NOTES])
        factories.access_token("for-both", machine, scope="read team:read", resource=[NOTES, TEAM])
        factories.access_token("for-anyone", machine)
        access = factories.access_token("user-for-notes", machine, user=user, resource=[NOTES])
        factories.refresh_token("refresh-for-notes", machine, user, access)

    def introspect(self, caller, token, **extra):
        secret = {"notes-api": "notes-secret", "team-api": "team-secret"}[caller]
        response = self.client.post(INTROSPECT_URL, {"token": token, **extra}, HTTP_AUTHORIZATION=basic(caller, secret))
        self.assertEqual(response.status_code, 200)
        return response.json()

    def test_a_token_bound_to_other_apis_is_inactive(self):
        self.assertEqual(self.introspect("team-api", "for-notes"), {"active": False})
        self.assertEqual(
            self.introspect("team-api", "refresh-for-notes", token_type_hint="refresh_token"), {"active": False}
        )
        self.assertEqual(self.introspect("notes-api", "for-notes")["aud"], [NOTES])
        self.assertTrue(self.introspect("notes-api", "refresh-for-notes")["active"])

    def test_a_token_for_both_apis_is_active_for_both(self):
        for caller in ("notes-api", "team-api"):
            self.assertEqual(self.introspect(caller, "for-both")["aud"], [NOTES, TEAM], caller)

    def test_a_token_without_resource_is_active_for_every_api(self):
        for caller in ("notes-api", "team-api"):
            self.assertTrue(self.introspect(caller, "for-anyone")["active"], caller)

    def test_an_introspection_token_is_isolated_the_same_way(self):
        factories.access_token("team-introspector", self.team, scope="introspection")

        response = self.client.post(
            INTROSPECT_URL, {"token": "for-notes"}, HTTP_AUTHORIZATION="Bearer team-introspector"
        )

        self.assertEqual(response.json(), {"active": False})
