"""A small OAuth2 client for the tests: the flows a real client would run."""

import base64
import hashlib
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests


class FormParser(HTMLParser):
    """The first form of a page: its action and its fields."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}
        self.done = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.done:
            return
        if tag == "form" and self.action is None:
            self.action = attrs.get("action") or ""
        elif tag == "input" and self.action is not None and attrs.get("name") and attrs.get("type") != "submit":
            self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self.action is not None:
            self.done = True


def form(response: requests.Response) -> tuple[str, dict]:
    parser = FormParser()
    parser.feed(response.text)
    assert parser.action is not None, f"no form in {response.url}: {response.text[:500]}"
    return urljoin(response.url, parser.action), parser.fields


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Client:
    def __init__(self, stack):
        self.stack = stack
        self.secrets = stack.secrets
        self.token_url = f"{stack.auth_url}/o/token/"

    def client_credentials(self, scope: str | None = "read", client=None, resource=None) -> requests.Response:
        """``resource`` (RFC 8707): one URL or a list, sent as repeated parameters."""
        client_id, client_secret = client or (self.secrets["DEMO_CLIENT_ID"], self.secrets["DEMO_CLIENT_SECRET"])
        data = {"grant_type": "client_credentials"}
        if scope is not None:
            data["scope"] = scope
        if resource is not None:
            data["resource"] = resource
        return requests.post(self.token_url, data=data, auth=(client_id, client_secret), timeout=10)

    def client_credentials_token(self, scope: str | None = "read", resource=None) -> str:
        response = self.client_credentials(scope, resource=resource)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def at_consent(
        self, scope: str = "read write", challenge_method: str = "S256", resource=None, state: str | None = None
    ) -> tuple[requests.Session, dict, requests.Response, str]:
        """Signed in through the AS's form: the session, the authorization request, the consent page, the verifier."""
        session = requests.Session()
        verifier, challenge = pkce_pair()
        if challenge_method == "plain":
            challenge = verifier
        query = {
            "response_type": "code",
            "client_id": self.secrets["DEMO_PUBLIC_CLIENT_ID"],
            "redirect_uri": self.secrets["DEMO_REDIRECT_URI"],
            "scope": scope,
            "state": state or secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": challenge_method,
        }
        if resource is not None:
            query["resource"] = resource
        login_page = session.get(f"{self.stack.auth_url}/o/authorize/?{urlencode(query, doseq=True)}", timeout=10)
        assert login_page.status_code == 200 and "/accounts/login/" in login_page.url, login_page.url
        action, fields = form(login_page)
        fields.update(username=self.secrets["DEMO_USERNAME"], password=self.secrets["DEMO_PASSWORD"])
        consent_page = session.post(action, data=fields, headers=self.origin, timeout=10)
        assert consent_page.status_code == 200 and "/o/authorize/" in consent_page.url, consent_page.text[:500]
        return session, query, consent_page, verifier

    @property
    def origin(self) -> dict:
        # A browser names the page's origin; Django's CSRF check needs it over HTTPS.
        return {"Origin": self.stack.auth_url}

    def authorize(self, scope: str = "read write", challenge_method: str = "S256", resource=None) -> requests.Response:
        """Sign in and consent through the AS's forms; the redirect to the client."""
        session, query, consent_page, verifier = self.at_consent(scope, challenge_method, resource)
        action, fields = form(consent_page)
        fields["allow"] = "Authorize"
        redirect = session.post(action, data=fields, headers=self.origin, allow_redirects=False, timeout=10)
        redirect.verifier = verifier
        redirect.state = query["state"]
        return redirect

    def authorization_code_tokens(self, scope: str = "read write", resource=None) -> dict:
        """``resource`` is asked for at /o/authorize/; the token inherits it from the grant."""
        redirect = self.authorize(scope, resource=resource)
        assert redirect.status_code == 302, redirect.text[:500]
        location = redirect.headers["Location"]
        assert location.startswith(self.secrets["DEMO_REDIRECT_URI"]), location
        assert parse_qs(urlsplit(location).query)["state"] == [redirect.state]
        response = self.exchange(redirect)
        assert response.status_code == 200, response.text
        return response.json()

    def exchange(self, redirect: requests.Response) -> requests.Response:
        """Exchange the code of an authorization response (``authorize``) at the token endpoint."""
        code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
        return requests.post(
            self.token_url,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.secrets["DEMO_REDIRECT_URI"],
                "client_id": self.secrets["DEMO_PUBLIC_CLIENT_ID"],
                "code_verifier": redirect.verifier,
            },
            timeout=10,
        )

    def refresh(self, refresh_token: str) -> requests.Response:
        return requests.post(
            self.token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": self.secrets["DEMO_PUBLIC_CLIENT_ID"],
            },
            timeout=10,
        )

    def revoke(self, token: str, hint: str = "access_token") -> requests.Response:
        return requests.post(
            f"{self.stack.auth_url}/o/revoke_token/",
            data={"token": token, "token_type_hint": hint, "client_id": self.secrets["DEMO_PUBLIC_CLIENT_ID"]},
            timeout=10,
        )

    def introspect(self, token: str, auth=None, headers=None, **extra) -> requests.Response:
        """Introspect as the resource server's client unless told otherwise."""
        if auth is None and headers is None:
            auth = (self.secrets["OAUTH_RS_CLIENT_ID"], self.secrets["OAUTH_RS_CLIENT_SECRET"])
        return requests.post(
            f"{self.stack.auth_url}/o/introspect/",
            data={"token": token, **extra},
            auth=auth,
            headers=headers,
            timeout=10,
        )

    def api(self, path: str, token: str | None = None, method: str = "GET", at=None, **kwargs) -> requests.Response:
        """Call the first API, or the API whose URL is ``at``."""
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers.update(bearer(token))
        url = f"{at or self.stack.resource_url}{path}"
        return requests.request(method, url, headers=headers, timeout=15, **kwargs)
