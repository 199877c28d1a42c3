"""OpenID Connect, as a relying party nobody here wrote sees it: Authlib's OAuth 2.0 client and joserfc.

No browser: the sign-in and consent forms are posted with requests, as
``tests.oauth.Client.at_consent`` does. The RP is the demo web app's client
(DEMO_WEB_*), seeded by the stack; its loopback redirect URI accepts any port.
"""

import os
import secrets
import stat
import subprocess
import sys
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from .oauth import bearer, form
from .stack import ROOT
from .test_deactivated_user import deactivate, user_client  # noqa: F401 - a fixture

# OpenID Connect is the AS's alone: the API's caller mode changes nothing.
# Once, on the first stack (the one_stack marker).
pytestmark = pytest.mark.one_stack

SCOPE = "openid profile email read"
# A user with a name and an address, for the profile and email claims.
PERSON = {"username": "oidc-alice", "first_name": "Alice", "last_name": "Liddell", "email": "alice@example.com"}
CREATE_PERSON = (
    "from django.contrib.auth import get_user_model; "
    "user, _ = get_user_model().objects.update_or_create(username={username!r}, "
    "defaults=dict(first_name={first_name!r}, last_name={last_name!r}, email={email!r})); "
    "user.set_password({password!r}); user.save()"
)


@pytest.fixture(autouse=True)
def plain_http_on_loopback(stack, monkeypatch):
    # Authlib refuses token requests over http unless told; the local stacks have no TLS.
    if stack.auth_url.startswith("http://"):
        monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture(scope="session")
def person(stack) -> dict:
    password = secrets.token_urlsafe(16)
    stack.auth_manage("shell", "-c", CREATE_PERSON.format(**PERSON, password=password))
    return {**PERSON, "password": password}


@pytest.fixture
def discovery(stack) -> dict:
    response = requests.get(f"{stack.auth_url}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


class RelyingParty:
    """The demo web app's client, driven through the AS's forms by a requests session (the browser)."""

    def __init__(self, stack, discovery, secrets_, port=None):
        self.stack, self.metadata = stack, discovery
        self.client_id = secrets_["DEMO_WEB_CLIENT_ID"]
        redirect_uri = secrets_["DEMO_WEB_REDIRECT_URI"]
        if port is not None:  # RFC 8252 §7.3: any port of the registered loopback URI
            redirect_uri = urlsplit(redirect_uri)._replace(netloc=f"127.0.0.1:{port}").geturl()
        self.oauth = OAuth2Session(
            self.client_id,
            secrets_["DEMO_WEB_CLIENT_SECRET"],
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )
        self.browser = requests.Session()

    def sign_in(self, user: dict, nonce: str | None = None) -> requests.Response:
        """The authorization request, the sign-in and consent forms: the AS's redirect back to the RP."""
        self.verifier = secrets.token_urlsafe(48)
        self.nonce = nonce or secrets.token_urlsafe(16)
        url, self.state = self.oauth.create_authorization_url(
            self.metadata["authorization_endpoint"],
            code_verifier=self.verifier,
            nonce=self.nonce,
            resource=self.stack.resource,
        )
        query = parse_qs(urlsplit(url).query)
        assert query["code_challenge_method"] == ["S256"] and query["nonce"] == [self.nonce], url
        origin = {"Origin": self.stack.auth_url}
        page = self.browser.get(url, timeout=10)
        if "/accounts/login/" in page.url:
            action, fields = form(page)
            fields.update(username=user["username"], password=user["password"])
            page = self.browser.post(action, data=fields, headers=origin, timeout=10)
        assert page.status_code == 200 and "/o/authorize/" in page.url, page.text[:500]
        action, fields = form(page)
        fields["allow"] = "Authorize"
        return self.browser.post(action, data=fields, headers=origin, allow_redirects=False, timeout=10)

    def tokens(self, user: dict) -> dict:
        redirect = self.sign_in(user)
        assert redirect.status_code == 302, redirect.text[:500]
        location = redirect.headers["Location"]
        assert location.startswith(self.oauth.redirect_uri), location
        # RFC 9207: the response names the issuer, as discovery does.
        assert parse_qs(urlsplit(location).query)["iss"] == [self.metadata["issuer"]]
        return self.oauth.fetch_token(
            self.metadata["token_endpoint"],
            authorization_response=location,
            state=self.state,
            code_verifier=self.verifier,
            timeout=10,
        )

    def verify(self, id_token: str, nonce: str | None = None) -> jwt.Token:
        """Verified as OpenID Connect Core §3.1.3.7 asks: signature by a key of JWKS, RS256, iss, aud, exp, nonce."""
        keys = KeySet.import_key_set(requests.get(self.metadata["jwks_uri"], timeout=10).json())
        token = jwt.decode(id_token, keys, algorithms=["RS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.metadata["issuer"]},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce or self.nonce},
        ).validate(token.claims)
        assert token.header["alg"] == "RS256"
        return token


@pytest.fixture
def rp(stack, discovery):
    return RelyingParty(stack, discovery, stack.secrets)


def test_discovery_names_the_issuer_and_the_endpoints_of_the_code_flow(stack, discovery):
    metadata = requests.get(f"{stack.auth_url}/.well-known/oauth-authorization-server", timeout=10).json()
    prefixed = requests.get(f"{stack.auth_url}/o/.well-known/openid-configuration", timeout=10).json()

    assert discovery["issuer"] == stack.auth_url == metadata["issuer"]
    assert prefixed == discovery
    assert discovery["response_types_supported"] == ["code"]
    assert discovery["subject_types_supported"] == ["public"]
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "profile", "email"} <= set(discovery["scopes_supported"])
    for name, path in (
        ("authorization_endpoint", "/o/authorize/"),
        ("token_endpoint", "/o/token/"),
        ("userinfo_endpoint", "/o/userinfo/"),
        ("jwks_uri", "/o/.well-known/jwks.json"),
        ("end_session_endpoint", "/o/logout/"),
    ):
        assert discovery[name] == f"{stack.auth_url}{path}", name
        assert metadata.get(name, discovery[name]) == discovery[name], name
    assert metadata["jwks_uri"] == discovery["jwks_uri"]
    assert metadata["userinfo_endpoint"] == discovery["userinfo_endpoint"]
    jwks = requests.get(discovery["jwks_uri"], timeout=10)
    assert jwks.status_code == 200
    assert all(key["kty"] == "RSA" and key["alg"] == "RS256" and "d" not in key for key in jwks.json()["keys"])


def test_code_flow_with_pkce_and_nonce_gives_an_id_token_that_verifies_against_jwks(stack, rp, person, client):
    tokens = rp.tokens(person)
    id_token = rp.verify(tokens["id_token"])
    claims = id_token.claims

    assert claims["nonce"] == rp.nonce
    assert claims["aud"] == "demo-web"
    assert "at_hash" in claims  # OpenID Connect Core §3.1.3.6: binds the ID token to the access token
    assert isinstance(claims["auth_time"], int) and claims["auth_time"] <= claims["iat"]
    # The sub of the ID token, of userinfo and of an introspection answer is one.
    userinfo = rp.oauth.get(rp.metadata["userinfo_endpoint"], timeout=10)
    assert userinfo.status_code == 200, userinfo.text
    introspected = client.introspect(tokens["access_token"]).json()
    assert introspected["active"] is True and introspected["username"] == person["username"]
    assert claims["sub"] == userinfo.json()["sub"] == introspected["sub"]
    assert introspected["iss"] == claims["iss"] == stack.auth_url
    # The profile and email scopes' claims, in the ID token and from userinfo.
    for answer in (claims, userinfo.json()):
        assert answer["name"] == "Alice Liddell"
        assert (answer["given_name"], answer["family_name"]) == ("Alice", "Liddell")
        assert answer["preferred_username"] == "oidc-alice"
        assert (answer["email"], answer["email_verified"]) == ("alice@example.com", False)
    # The access token is the API's too: the resource it was asked for.
    me = client.api("/api/me/", tokens["access_token"])
    assert me.status_code == 200 and me.json()["username"] == person["username"]


def test_an_id_token_for_another_nonce_or_client_does_not_verify(rp, person):
    tokens = rp.tokens(person)

    with pytest.raises(Exception, match="nonce"):
        rp.verify(tokens["id_token"], nonce="another")
    header, payload, signature = tokens["id_token"].split(".")
    tampered = f"{header}.{payload[:-4]}AAAA.{signature}"
    with pytest.raises((BadSignatureError, ValueError)):
        rp.verify(tampered)


def test_the_redirect_uri_may_name_any_loopback_port(stack, discovery, person):
    rp = RelyingParty(stack, discovery, stack.secrets, port=51234)
    redirect = rp.sign_in(person)

    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith("http://127.0.0.1:51234/callback/?code="), redirect.headers


def test_clients_that_cannot_receive_an_id_token_get_invalid_scope_for_openid(stack, client):
    # The client-credentials demo client has no user to identify; the demo public client
    # (like every client registered before OpenID Connect) has no ID token algorithm.
    response = client.client_credentials(scope="openid profile email")
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope", response.text
    query = {
        "response_type": "code",
        "client_id": stack.secrets["DEMO_PUBLIC_CLIENT_ID"],
        "redirect_uri": stack.secrets["DEMO_REDIRECT_URI"],
        "scope": "openid read",
        "state": "s1",
        "code_challenge": "c" * 43,
        "code_challenge_method": "S256",
    }
    redirect = requests.get(f"{stack.auth_url}/o/authorize/?{urlencode(query)}", allow_redirects=False, timeout=10)
    assert redirect.status_code == 302, redirect.text[:300]
    location = redirect.headers["Location"]
    assert location.startswith(stack.secrets["DEMO_REDIRECT_URI"]), location
    assert parse_qs(urlsplit(location).query)["error"] == ["invalid_scope"]


def test_userinfo_takes_the_token_from_the_authorization_header_only(rp, person, client):
    token = rp.tokens(person)["access_token"]
    assert client.api(f"/api/me/?{urlencode({'access_token': token})}").status_code in (400, 401)  # the APIs' rule
    userinfo = rp.metadata["userinfo_endpoint"]

    for response in (
        requests.get(userinfo, params={"access_token": token}, timeout=10),
        requests.post(userinfo, data={"access_token": token}, timeout=10),
    ):
        assert response.status_code == 401, (response.status_code, response.text[:300])
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert requests.get(userinfo, headers=bearer(token), timeout=10).status_code == 200


def test_userinfo_refuses_the_token_of_a_deactivated_user_as_introspection_does(stack, discovery, user_client):  # noqa: F811
    user = {"username": user_client.secrets["DEMO_USERNAME"], "password": user_client.secrets["DEMO_PASSWORD"]}
    token = RelyingParty(stack, discovery, stack.secrets).tokens(user)["access_token"]
    userinfo = discovery["userinfo_endpoint"]
    assert requests.get(userinfo, headers=bearer(token), timeout=10).status_code == 200

    deactivate(user_client)

    assert user_client.introspect(token).json()["active"] is False
    response = requests.get(userinfo, headers=bearer(token), timeout=10)
    assert response.status_code == 401, (response.status_code, response.text[:300])
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_userinfo_needs_the_openid_scope(client):
    token = client.client_credentials_token("read")

    response = requests.get(f"{client.stack.auth_url}/o/userinfo/", headers=bearer(token), timeout=10)

    assert response.status_code in (401, 403), response.text


def logout_url(rp, **query) -> str:
    return f"{rp.metadata['end_session_endpoint']}?{urlencode(query)}"


def signed_in(rp) -> bool:
    account = rp.browser.get(f"{rp.stack.auth_url}/o/authorized_tokens/", allow_redirects=False, timeout=10)
    return account.status_code == 200


def test_rp_initiated_logout_ends_the_session_and_returns_to_the_registered_uri(stack, rp, person):
    tokens = rp.tokens(person)
    assert signed_in(rp)
    registered = stack.secrets["DEMO_WEB_POST_LOGOUT_REDIRECT_URI"]

    page = rp.browser.get(
        logout_url(rp, id_token_hint=tokens["id_token"], post_logout_redirect_uri=registered, state="bye"), timeout=10
    )
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"], page.text[:300]
    action, fields = form(page)
    fields["allow"] = "Logout"
    done = rp.browser.post(action, data=fields, headers={"Origin": stack.auth_url}, allow_redirects=False, timeout=10)

    assert done.status_code == 302, done.text[:300]
    assert done.headers["Location"] == f"{registered}?state=bye"
    assert not signed_in(rp)
    # DOT deletes the user's tokens of this client at logout.
    assert rp.oauth.get(rp.metadata["userinfo_endpoint"], timeout=10).status_code == 401


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:8003/elsewhere", "https://attacker.example/", "http://attacker.example/"]
)
def test_rp_initiated_logout_refuses_an_unregistered_redirect_uri(stack, rp, person, uri):
    tokens = rp.tokens(person)

    page = rp.browser.get(logout_url(rp, id_token_hint=tokens["id_token"], post_logout_redirect_uri=uri), timeout=10)

    assert page.status_code == 400, page.text[:300]
    assert "Location" not in page.headers
    assert signed_in(rp)


def test_rp_initiated_logout_of_an_unknown_client_is_refused(stack, rp):
    page = rp.browser.get(logout_url(rp, client_id="nobody", post_logout_redirect_uri="http://127.0.0.1:8003/"))

    assert page.status_code == 400


def test_rp_initiated_logout_without_a_session_deletes_no_token(stack, rp, person, client):
    # Whoever holds an ID token (the client it was issued to, a log line, a Referer)
    # is asked nothing when nobody is signed in at the AS (DOT's must_prompt).
    other_app_token = client.authorization_code_tokens()["access_token"]  # the demo public client
    tokens = rp.tokens(person)
    registered = stack.secrets["DEMO_WEB_POST_LOGOUT_REDIRECT_URI"]

    done = requests.get(
        logout_url(rp, id_token_hint=tokens["id_token"], post_logout_redirect_uri=registered),
        allow_redirects=False,
        timeout=10,
    )

    assert done.status_code == 302 and done.headers["Location"] == registered, done.text[:300]
    assert client.introspect(other_app_token).json()["active"] is True
    assert client.introspect(tokens["access_token"]).json()["active"] is True
    assert signed_in(rp)


def test_rp_initiated_logout_refuses_a_redirect_uri_that_does_not_parse(stack, rp):
    page = rp.browser.get(logout_url(rp, client_id=rp.client_id, post_logout_redirect_uri="http://[::1"), timeout=10)

    assert page.status_code == 400, (page.status_code, page.text[:300])
    assert "Location" not in page.headers


def sign_in_link(stack, redirect_uri: str) -> str:
    """A link to the sign-in page whose ``next`` is an authorization request of the demo web app."""
    authorization = "/o/authorize/?" + urlencode(
        {
            "response_type": "code",
            "client_id": stack.secrets["DEMO_WEB_CLIENT_ID"],
            "redirect_uri": redirect_uri,
            "scope": "openid",
        }
    )
    return f"{stack.auth_url}/accounts/login/?" + urlencode({"next": authorization})


def form_action(response) -> list[str]:
    directives = (part.split() for part in response.headers["Content-Security-Policy"].split(";") if part.strip())
    return {directive[0]: directive[1:] for directive in directives}["form-action"]


def test_the_sign_in_page_allows_the_parsed_origin_of_the_demo_web_apps_loopback_redirect_only(stack):
    # DOT matches the registered loopback URI on any port without parsing the port (RFC 8252 §7.3).
    crafted_uri = "http://127.0.0.1:1 *;script-src * 'unsafe-inline'/callback/"
    crafted = requests.get(sign_in_link(stack, crafted_uri), timeout=10)
    assert crafted.status_code == 200
    assert form_action(crafted) == ["'self'"], crafted.headers["Content-Security-Policy"]
    assert "script-src" not in crafted.headers["Content-Security-Policy"]
    other_port = requests.get(sign_in_link(stack, "http://127.0.0.1:51234/callback/"), timeout=10)
    assert form_action(other_port) == ["'self'", "http://127.0.0.1:51234"]
    unparsable = requests.get(sign_in_link(stack, "http://[::1"), timeout=10)
    assert unparsable.status_code == 200 and form_action(unparsable) == ["'self'"], unparsable.text[:300]


def rotate(env: dict, tmp_path) -> None:
    """``python3 -m shared.dotenv --rotate-oidc-key`` on a .env holding the AS's keys, then the AS's environment."""
    dotenv = tmp_path / ".env"
    names = ("OIDC_RSA_PRIVATE_KEY", "OIDC_RSA_PRIVATE_KEYS_INACTIVE")
    dotenv.write_text("".join(f"{name}={env.get(name, '')}\n" for name in names))
    dotenv.chmod(0o600)
    result = subprocess.run(
        [sys.executable, "-S", "-m", "shared.dotenv", "--rotate-oidc-key", str(dotenv)],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
    rotated = dict(line.split("=", 1) for line in dotenv.read_text().splitlines())
    assert rotated["OIDC_RSA_PRIVATE_KEYS_INACTIVE"].split(",")[0] == env["OIDC_RSA_PRIVATE_KEY"]
    env.update(rotated)


# The local stack's AS is restarted with the rotated keys (docs/openid-connect.md for Compose).
@pytest.mark.local_stack
def test_after_a_key_rotation_an_id_token_signed_by_the_old_key_still_verifies(stack, rp, person, tmp_path):
    before = rp.tokens(person)
    old_kid = rp.verify(before["id_token"]).header["kid"]
    old_nonce = rp.nonce

    stack.stop_auth_server()
    rotate(stack.servers[0].env, tmp_path)
    stack.start_auth_server()

    kids = [key["kid"] for key in requests.get(rp.metadata["jwks_uri"], timeout=10).json()["keys"]]
    assert len(kids) == 2 and kids[1] == old_kid
    assert rp.verify(before["id_token"], nonce=old_nonce).header["kid"] == old_kid
    fresh = RelyingParty(stack, rp.metadata, stack.secrets)
    new_kid = fresh.verify(fresh.tokens(person)["id_token"]).header["kid"]
    assert new_kid == kids[0] != old_kid
