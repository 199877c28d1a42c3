"""The sign-in pages: what they say, the headers they carry, and where they lead."""

import base64
import hashlib
import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

from django.core import mail
from django.test import SimpleTestCase, TestCase
from django.urls import reverse

from authorization import branding, pages
from authorization.models import ResourceServer

from . import factories
from .factories import AccessToken, RefreshToken
from .test_openid_connect import web_client

AUTHORIZE_URL = reverse("oauth2_provider:authorize")
LOGIN_URL = reverse("login")
LOGOUT_URL = reverse("logout")
ACCOUNT_URL = reverse("account")
APPS_URL = reverse("oauth2_provider:authorized-token-list")
REDIRECT_URI = "https://client.example/cb"
PASSWORD = "a long user password"  # factories.user's
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 50).digest()).rstrip(b"=").decode()
POLICY = {
    "default-src": "'none'",
    "style-src": "'self'",
    "img-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}


def policy(response) -> dict:
    """The Content-Security-Policy header, one directive name to its sources."""
    directives = (part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    return {name: sources for name, sources in directives}


def title(response) -> str:
    return unescape(re.search(r"<title>(.*?)</title>", response.content.decode(), re.S).group(1)).strip()


def query(response) -> dict:
    return parse_qs(urlsplit(response["Location"]).query)


class PageTestCase(TestCase):
    def setUp(self):
        factories.application("rs", resource_server=True)
        ResourceServer.objects.filter(application__client_id="rs").update(name="Notes API")
        self.app = factories.public_client(redirect_uri=REDIRECT_URI)
        self.app.name = "Notes for Phones"
        self.app.save()
        self.user = factories.user()
        self.user.email = "alice@example.com"
        self.user.save()

    def authorization_request(self, **extra) -> str:
        parameters = {
            "response_type": "code",
            "client_id": "public",
            "redirect_uri": REDIRECT_URI,
            "scope": "read write",
            "state": "s",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
            **extra,
        }
        return f"{AUTHORIZE_URL}?{urlencode(parameters)}"

    def issuer(self) -> str:
        return self.client.get(reverse("oauth2_provider:oauth-server-metadata")).json()["issuer"]

    def sign_in(self, password=PASSWORD, next_url=None):
        data = {"username": "alice", "password": password}
        if next_url is not None:
            data["next"] = next_url
        return self.client.post(LOGIN_URL, data)


class TitleTests(PageTestCase):
    def test_every_page_has_a_title_of_its_own_and_the_product_name(self):
        anonymous = {
            LOGIN_URL: "Sign in",
            LOGOUT_URL: "Sign out",
            reverse("password_reset"): "Reset your password",
            reverse("password_reset_done"): "Check your email",
            reverse("password_reset_complete"): "Password changed",
            reverse("password_reset_confirm", args=["x", "y"]): "Link expired",
            "/no-such-page/": "Page not found",
        }
        for url, expected in anonymous.items():
            self.assertEqual(title(self.client.get(url)), f"{expected} – {branding.NAME}", url)
        self.client.force_login(self.user)
        signed_in = {
            ACCOUNT_URL: "Your account",
            APPS_URL: "Apps you have allowed",
            self.authorization_request(): "Allow Notes for Phones?",
        }
        for url, expected in signed_in.items():
            self.assertEqual(title(self.client.get(url)), f"{expected} – {branding.NAME}", url)


class OriginTests(SimpleTestCase):
    def test_an_origin_is_built_from_the_parsed_scheme_host_and_port(self):
        for uri, expected in (
            ("https://App.Example:8443/cb?x=1", "https://app.example:8443"),
            ("https://client.example/cb", "https://client.example"),
            ("http://[::1]:9/cb", "http://[::1]:9"),
            ("com.example.app:/callback", "com.example.app:"),
        ):
            self.assertEqual(pages.origin(uri), expected, uri)

    def test_what_is_not_one_csp_source_has_no_origin(self):
        unparsable = ("http://127.0.0.1:99999/", "http://[::1", "")
        for uri in ("http://127.0.0.1:1 */cb", "http://a b/", "http://a;b/", *unparsable):
            self.assertIsNone(pages.origin(uri), uri)


class HeaderTests(PageTestCase):
    def test_every_page_has_the_strict_policy_and_may_not_be_framed(self):
        for url in (LOGIN_URL, LOGOUT_URL, reverse("password_reset"), "/no-such-page/", self.authorization_request()):
            response = self.client.get(url)
            self.assertEqual(response["X-Frame-Options"], "DENY", url)
            if url == self.authorization_request():
                self.assertEqual(response.status_code, 302)
            self.assertEqual(policy(response), POLICY, url)

    def test_pages_with_a_session_or_a_form_are_never_stored(self):
        urls = [LOGIN_URL, LOGOUT_URL, reverse("password_reset"), reverse("password_reset_done")]
        urls += [reverse("password_reset_complete"), reverse("password_reset_confirm", args=["x", "y"])]
        for url in urls:
            self.assertIn("no-store", self.client.get(url)["Cache-Control"], url)
        self.client.force_login(self.user)
        for url in (self.authorization_request(), ACCOUNT_URL, APPS_URL):
            self.assertIn("no-store", self.client.get(url)["Cache-Control"], url)

    def test_the_consent_form_may_lead_to_the_clients_origin_and_nowhere_else(self):
        self.client.force_login(self.user)

        response = self.client.get(self.authorization_request())

        self.assertEqual(policy(response), {**POLICY, "form-action": "'self' https://client.example"})

    def test_the_sign_in_form_may_lead_to_the_verified_origin_of_the_request_waiting_for_it(self):
        waiting = self.client.get(LOGIN_URL, {"next": self.authorization_request()})
        unregistered = self.client.get(
            LOGIN_URL, {"next": self.authorization_request(redirect_uri="https://evil.example/")}
        )

        self.assertEqual(policy(waiting)["form-action"], "'self' https://client.example")
        self.assertEqual(policy(unregistered)["form-action"], "'self'")

    def test_a_link_to_the_sign_in_page_cannot_widen_its_policy_through_a_loopback_port(self):
        # DOT matches a loopback redirect URI on any port without parsing it
        # (RFC 8252 §7.3): only a port that parses becomes part of the source.
        web_client()
        for redirect_uri, form_action in (
            ("http://127.0.0.1:1 *;script-src * 'unsafe-inline'/callback/", "'self'"),
            ("http://127.0.0.1:1,*/callback/", "'self'"),
            ("http://127.0.0.1:51234/callback/", "'self' http://127.0.0.1:51234"),
        ):
            with self.subTest(redirect_uri=redirect_uri):
                waiting = self.authorization_request(client_id="web", redirect_uri=redirect_uri)
                response = self.client.get(LOGIN_URL, {"next": waiting})
                self.assertEqual(response.status_code, 200)
                self.assertEqual(policy(response), {**POLICY, "form-action": form_action})

    def test_the_admin_may_run_its_own_scripts_and_nothing_else(self):
        response = self.client.get(reverse("admin:login"))

        self.assertEqual(policy(response), {**POLICY, "script-src": "'self'", "connect-src": "'self'"})


class ProtocolErrorTests(PageTestCase):
    """An unknown client or an unregistered redirect URI is shown before any password is asked for."""

    def test_unknown_client_is_a_page_in_plain_words_before_sign_in(self):
        response = self.client.get(self.authorization_request(client_id="no-such-app"), HTTP_X_REQUEST_ID="req-42")

        self.assertEqual(response.status_code, 400)
        self.assertNotIn("Location", response)
        self.assertContains(response, "This app is not known here", status_code=400)
        self.assertContains(response, 'role="alert"', status_code=400)
        self.assertContains(response, '<code id="request-id">req-42</code>', status_code=400)
        self.assertNotContains(response, 'name="password"', status_code=400)

    def test_unregistered_redirect_uri_is_never_followed(self):
        for redirect_uri in ("https://evil.example/cb", "https://client.example/other"):
            response = self.client.get(self.authorization_request(redirect_uri=redirect_uri))

            self.assertEqual(response.status_code, 400, redirect_uri)
            self.assertNotIn("Location", response)
            self.assertContains(response, "return address is not registered", status_code=400)

    def test_a_valid_request_asks_to_sign_in(self):
        response = self.client.get(self.authorization_request())

        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(LOGIN_URL + "?next="), response["Location"])

    def test_other_errors_go_back_to_the_verified_redirect_uri_with_the_issuer(self):
        response = self.client.get(self.authorization_request(scope="no-such-scope"))

        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(REDIRECT_URI + "?"), response["Location"])
        self.assertEqual(query(response)["error"], ["invalid_scope"])
        self.assertEqual(query(response)["state"], ["s"])
        self.assertEqual(query(response)["iss"], [self.issuer()])

    def test_prompt_none_without_a_session_is_login_required_with_the_issuer(self):
        response = self.client.get(self.authorization_request(prompt="none"))

        self.assertTrue(response["Location"].startswith(REDIRECT_URI + "?"), response["Location"])
        self.assertEqual(query(response)["error"], ["login_required"])
        self.assertEqual(query(response)["iss"], [self.issuer()])


class IssuerTests(PageTestCase):
    """RFC 9207: every authorization response names the issuer, error responses too."""

    def setUp(self):
        super().setUp()
        self.client.force_login(self.user)

    def consent(self, **answer):
        page = self.client.get(self.authorization_request())
        fields = {name: value for name, value in page.context["form"].initial.items() if value is not None}
        return self.client.post(self.authorization_request(), {**fields, **answer})

    def test_cancel_on_consent_is_access_denied_with_the_issuer(self):
        response = self.consent()

        self.assertEqual(response.status_code, 302)
        self.assertEqual(query(response)["error"], ["access_denied"])
        self.assertEqual(query(response)["iss"], [self.issuer()])

    def test_invalid_scope_after_sign_in_carries_the_issuer(self):
        response = self.client.get(self.authorization_request(scope="no-such-scope"))

        self.assertEqual(query(response)["error"], ["invalid_scope"])
        self.assertEqual(query(response)["iss"], [self.issuer()])

    def test_allow_carries_the_issuer_once(self):
        response = self.consent(allow="Authorize")

        self.assertEqual(response.status_code, 302)
        self.assertIn("code", query(response))
        self.assertEqual(query(response)["iss"], [self.issuer()])

    def test_remembered_consent_skips_the_page_as_dot_allows(self):
        factories.access_token("earlier", self.app, self.user, scope="read write")

        response = self.client.get(self.authorization_request(approval_prompt="auto"))

        self.assertEqual(response.status_code, 302)
        self.assertIn("code", query(response))
        self.assertEqual(query(response)["iss"], [self.issuer()])


class ConsentTests(PageTestCase):
    def test_the_consent_page_names_the_app_the_destination_the_user_and_each_scope_in_plain_words(self):
        self.client.force_login(self.user)

        response = self.client.get(self.authorization_request())

        self.assertContains(response, '<span id="app-name">Notes for Phones</span>')
        self.assertContains(response, '<strong id="redirect-origin">https://client.example</strong>')
        self.assertContains(response, '<strong id="signed-in-user">alice</strong>')
        self.assertContains(response, "Read your data")
        self.assertContains(response, "Change your data")
        self.assertContains(response, "<h2>Notes API</h2>")
        not_you = urlsplit(unescape(re.search(r'href="([^"]+)" id="not-you"', response.content.decode()).group(1)))
        self.assertEqual(not_you.path, LOGOUT_URL)
        self.assertEqual(parse_qs(not_you.query), {"next": [self.authorization_request()]})
        self.assertContains(response, ">Allow</button>")
        self.assertContains(response, ">Cancel</button>")

    def test_not_you_signs_out_and_comes_back_to_the_request(self):
        self.client.force_login(self.user)

        response = self.client.post(LOGOUT_URL, {"next": self.authorization_request()})

        self.assertRedirects(response, self.authorization_request(), fetch_redirect_response=False)
        self.assertTrue(self.client.get(response["Location"])["Location"].startswith(LOGIN_URL))


class SignInTests(PageTestCase):
    def test_sign_in_without_an_app_ends_on_the_account_page(self):
        response = self.sign_in()

        self.assertRedirects(response, ACCOUNT_URL, fetch_redirect_response=False)
        account = self.client.get(ACCOUNT_URL)
        self.assertContains(account, '<strong id="signed-in-user">alice</strong>')
        self.assertContains(account, f'href="{APPS_URL}"')
        self.assertContains(account, f'href="{LOGOUT_URL}"')

    def test_sign_in_with_a_request_waiting_returns_to_it(self):
        response = self.sign_in(next_url=self.authorization_request())

        self.assertRedirects(response, self.authorization_request(), fetch_redirect_response=False)

    def test_a_waiting_request_without_a_usable_redirect_uri_is_the_sign_in_page_as_it_is(self):
        # DOT's redirect URI check raises ValueError on a URI urlsplit cannot parse, and a
        # client with no single registered URI has no default one (MissingRedirectURIError).
        web_client()
        factories.application("machine")
        for waiting in (
            self.authorization_request(client_id="web", redirect_uri="http://[::1"),
            self.authorization_request(client_id="web", redirect_uri="https://[/callback/"),
            f"{AUTHORIZE_URL}?client_id=machine",
        ):
            with self.subTest(next=waiting):
                response = self.client.get(LOGIN_URL, {"next": waiting})
                self.assertEqual(response.status_code, 200)
                self.assertEqual(policy(response), POLICY)

    def test_a_wrong_password_is_one_clear_error(self):
        response = self.sign_in(password="wrong")

        self.assertEqual(response.status_code, 200)
        page = response.content.decode()
        self.assertEqual(page.count('role="alert"'), 1)
        self.assertEqual(page.count("Please enter a correct username and password"), 1)
        self.assertIn('id="id_username"', page)
        self.assertIn('id="id_password"', page)
        self.assertIn('<label for="id_password">', page)

    def test_signed_in_already_the_sign_in_page_says_who_and_links_the_account(self):
        self.client.force_login(self.user)

        response = self.client.get(LOGIN_URL)

        self.assertContains(response, "You are signed in as <strong>alice</strong>")
        self.assertContains(response, f'href="{ACCOUNT_URL}"')

    def test_the_account_page_asks_to_sign_in(self):
        response = self.client.get(ACCOUNT_URL)

        self.assertRedirects(response, f"{LOGIN_URL}?next={ACCOUNT_URL}", fetch_redirect_response=False)


class SignOutTests(PageTestCase):
    def setUp(self):
        super().setUp()
        self.client.force_login(self.user)

    def test_get_is_a_page_with_a_button(self):
        response = self.client.get(LOGOUT_URL)

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, '<button type="submit" id="sign-out-button">Sign out</button>')
        self.assertIn("_auth_user_id", self.client.session)

    def test_post_signs_out_and_says_so(self):
        response = self.client.post(LOGOUT_URL)

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "You are signed out")
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertEqual(self.client.get(ACCOUNT_URL).status_code, 302)

    def test_next_leads_nowhere_but_here(self):
        response = self.client.post(LOGOUT_URL, {"next": "https://evil.example/"})

        self.assertEqual(response.status_code, 200)
        self.assertNotIn("Location", response)


class RelyingPartyLogoutTests(PageTestCase):
    """OpenID Connect RP-initiated logout: DOT's view, our page."""

    def setUp(self):
        super().setUp()
        self.app.post_logout_redirect_uris = "https://client.example/bye"
        self.app.save()
        self.client.force_login(self.user)

    def logout_url(self, **extra) -> str:
        return f"{reverse('oauth2_provider:rp-initiated-logout')}?{urlencode({'client_id': 'public', **extra})}"

    def test_the_app_asks_and_the_user_answers_with_a_button(self):
        page = self.client.get(self.logout_url(post_logout_redirect_uri="https://client.example/bye"))

        self.assertEqual(title(page), f"Sign out – {branding.NAME}")
        self.assertContains(page, "<strong>Notes for Phones</strong> asks to sign you out")
        self.assertContains(page, '<strong id="signed-in-user">alice</strong>')
        self.assertContains(page, ">Sign out</button>")
        self.assertEqual(policy(page)["form-action"], "'self' https://client.example")

    def test_staying_signed_in_says_so(self):
        page = self.client.get(self.logout_url())
        fields = {name: value for name, value in page.context["form"].initial.items() if value}

        response = self.client.post(reverse("oauth2_provider:rp-initiated-logout"), fields)

        self.assertContains(response, "You are still signed in", status_code=response.status_code)
        self.assertIn("_auth_user_id", self.client.session)

    def test_an_unregistered_destination_is_refused_in_plain_words(self):
        response = self.client.get(
            self.logout_url(post_logout_redirect_uri="https://evil.example/"), HTTP_X_REQUEST_ID="req-bye"
        )

        self.assertContains(response, "This sign-out request cannot be completed", status_code=400)
        self.assertContains(response, 'role="alert"', status_code=400)
        self.assertContains(response, '<code id="request-id">req-bye</code>', status_code=400)


class PasswordResetTests(PageTestCase):
    def test_the_mail_leads_to_a_new_password(self):
        response = self.client.post(reverse("password_reset"), {"email": "alice@example.com"})

        self.assertRedirects(response, reverse("password_reset_done"), fetch_redirect_response=False)
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["alice@example.com"])
        self.assertEqual(mail.outbox[0].subject, f"Reset your password for {branding.NAME}")
        link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
        form = self.client.get(link, follow=True)
        self.assertContains(form, 'id="id_new_password1"')
        new = "another long passphrase"
        done = self.client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
        self.assertRedirects(done, reverse("password_reset_complete"), fetch_redirect_response=False)
        self.assertEqual(self.sign_in(password=new).status_code, 302)

    def test_an_unknown_address_sends_nothing_and_says_the_same(self):
        response = self.client.post(reverse("password_reset"), {"email": "nobody@example.com"})

        self.assertRedirects(response, reverse("password_reset_done"), fetch_redirect_response=False)
        self.assertEqual(mail.outbox, [])


class AuthorizedAppTests(PageTestCase):
    def setUp(self):
        super().setUp()
        self.token = factories.access_token("alice-token", self.app, self.user, scope="read")
        self.refresh = factories.refresh_token("alice-refresh", self.app, self.user, self.token)
        other = factories.user("bob")
        self.others = factories.access_token("bob-token", self.app, other, scope="write")
        self.client.force_login(self.user)

    def test_the_list_shows_the_users_apps_and_what_they_may_do(self):
        other_app = factories.public_client("other", "https://other.example/cb")
        factories.access_token("alice-other", other_app, self.user, scope="write")
        factories.access_token("alice-again", self.app, self.user, scope="read")

        response = self.client.get(APPS_URL)

        self.assertContains(response, "<h2>Notes for Phones</h2>", count=1)
        self.assertContains(response, "<h2>other</h2>", count=1)
        self.assertContains(response, "Change your data", count=1)
        self.assertContains(response, "Read your data", count=2)
        self.assertContains(response, reverse("oauth2_provider:authorized-token-delete", args=[self.token.pk]))

    def test_revoke_asks_then_revokes_the_grant(self):
        url = reverse("oauth2_provider:authorized-token-delete", args=[self.token.pk])

        page = self.client.get(url)
        response = self.client.post(url)

        self.assertContains(page, "Revoke access of Notes for Phones?")
        self.assertRedirects(response, APPS_URL, fetch_redirect_response=False)
        self.assertFalse(AccessToken.objects.filter(pk=self.token.pk).exists())
        self.assertIsNotNone(RefreshToken.objects.get(pk=self.refresh.pk).revoked)

    def test_another_users_grant_cannot_be_revoked(self):
        url = reverse("oauth2_provider:authorized-token-delete", args=[self.others.pk])

        self.assertEqual(self.client.post(url).status_code, 404)
        self.assertTrue(AccessToken.objects.filter(pk=self.others.pk).exists())


class ErrorPageTests(PageTestCase):
    def test_not_found_is_our_page_with_the_request_id(self):
        response = self.client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-404")

        self.assertContains(response, "Page not found", status_code=404)
        self.assertContains(response, '<code id="request-id">req-404</code>', status_code=404)

    def test_a_form_without_its_csrf_token_is_our_page(self):
        client = self.client_class(enforce_csrf_checks=True)

        response = client.post(LOGIN_URL, {"username": "alice", "password": PASSWORD}, HTTP_X_REQUEST_ID="req-403")

        self.assertContains(response, "This form has expired", status_code=403)
        self.assertContains(response, '<code id="request-id">req-403</code>', status_code=403)
        self.assertEqual(title(response), f"Form expired – {branding.NAME}")

    def test_a_server_error_is_our_page_with_the_request_id(self):
        self.client.raise_request_exception = False
        with self.settings(ROOT_URLCONF="authorization.tests.failing_urls"):
            response = self.client.get("/fail/", HTTP_X_REQUEST_ID="req-500")

        self.assertContains(response, "Something went wrong", status_code=500)
        self.assertContains(response, '<code id="request-id">req-500</code>', status_code=500)
        self.assertEqual(policy(response), POLICY)
