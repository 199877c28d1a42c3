"""The production profile: HTTPS through the proxy, with certificates from its local CA.

make test-compose runs this module after switching the stack to
compose.production.yaml, with E2E_AUTH_URL and E2E_RESOURCE_URL on https and
REQUESTS_CA_BUNDLE naming the CA's certificate as clients get it
(``docker compose cp proxy:/ca/root.crt proxy-ca.crt``).
"""

import os
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

from ..oauth import bearer, form, pkce_pair
from ..stack import compose
from ..test_revocation_push import revoke_as_client
from .containers import SERVICES, inspect, python_in

CA = Path(os.environ["REQUESTS_CA_BUNDLE"])

# A GET from the RS's container as its introspection client makes it: requests,
# trusting only the CA its REQUESTS_CA_BUNDLE names.
FETCH = """
import sys, requests
response = requests.get(sys.argv[1], timeout=5)
print(response.status_code, response.json()["status"])
"""


def cookie(response: requests.Response, name: str):
    return next(cookie for cookie in response.cookies if cookie.name == name)


def test_the_proxy_serves_https_for_every_name_clients_use_and_no_plain_http(stack, team_api):
    for url in (stack.auth_url, stack.resource_url, team_api):
        port = urlsplit(url).port
        for host in ("127.0.0.1", "localhost"):
            response = requests.get(f"https://{host}:{port}/healthz", timeout=10)
            assert response.status_code == 200 and response.json() == {"status": "ok"}
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        plain = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert plain.status_code == 400 and "HTTPS" in plain.text

    for api in ("resource-server", "team-server"):
        assert python_in(api, FETCH, "https://proxy:8000/healthz").stdout.split() == ["200", "ok"], api


def test_the_ca_key_stays_in_the_proxy_and_the_apis_hold_its_certificate_only():
    project = os.environ["E2E_COMPOSE_PROJECT"]
    mounts = {service: {mount.get("Name"): mount for mount in inspect(service)["Mounts"]} for service in SERVICES}

    assert {service for service, named in mounts.items() if f"{project}_proxy-data" in named} == {"proxy"}
    for api in ("resource-server", "team-server"):
        certificate = mounts[api][f"{project}_proxy-ca"]
        assert certificate["Destination"] == "/ca" and certificate["RW"] is False
        assert compose("exec", "-T", api, "ls", "-A", "/ca").stdout.split() == ["root.crt"]
        bundle = compose("exec", "-T", api, "cat", "/ca/root.crt").stdout
        assert bundle == CA.read_text()
        assert bundle.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" not in bundle


@pytest.mark.parametrize(
    "service, server",
    [("auth-server", "auth_server"), ("resource-server", "resource_server"), ("team-server", "resource_server")],
)
def test_deploy_checks_pass_in_the_running_containers(service, server):
    result = compose(
        "exec",
        "-T",
        service,
        "python",
        f"{server}/manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_sign_in_and_consent_as_a_browser_then_the_resource_server_over_https(client, stack):
    browser = requests.Session()
    # What a browser sends with a form it posts (RFC 6454 §7); Django's CSRF
    # check over HTTPS wants it, or a Referer.
    origin = {"Origin": stack.auth_url}
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(8)
    query = {
        "response_type": "code",
        "client_id": stack.secrets["DEMO_PUBLIC_CLIENT_ID"],
        "redirect_uri": stack.secrets["DEMO_REDIRECT_URI"],
        "scope": "read write",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    login_page = browser.get(f"{stack.auth_url}/o/authorize/?{urlencode(query)}", timeout=10)
    assert login_page.status_code == 200 and urlsplit(login_page.url).path == "/accounts/login/"
    assert cookie(login_page, "csrftoken").secure
    action, fields = form(login_page)
    fields.update(username=stack.secrets["DEMO_USERNAME"], password=stack.secrets["DEMO_PASSWORD"])

    assert browser.post(action, data=fields, timeout=10).status_code == 403
    elsewhere = {"Origin": "https://elsewhere.example"}
    assert browser.post(action, data=fields, headers=elsewhere, timeout=10).status_code == 403
    signed_in = browser.post(action, data=fields, headers=origin, allow_redirects=False, timeout=10)
    assert signed_in.status_code == 302
    session = cookie(signed_in, "sessionid")
    assert session.secure and session.has_nonstandard_attr("HttpOnly")

    consent_page = browser.get(urljoin(action, signed_in.headers["Location"]), timeout=10)
    assert consent_page.status_code == 200
    action, fields = form(consent_page)
    fields["allow"] = "Authorize"
    redirect = browser.post(action, data=fields, headers=origin, allow_redirects=False, timeout=10)
    assert redirect.status_code == 302
    params = parse_qs(urlsplit(redirect.headers["Location"]).query)
    assert params["state"] == [state] and params["iss"] == [stack.auth_url]
    exchanged = requests.post(
        client.token_url,
        data={
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": stack.secrets["DEMO_REDIRECT_URI"],
            "client_id": stack.secrets["DEMO_PUBLIC_CLIENT_ID"],
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert exchanged.status_code == 200, exchanged.text
    token = exchanged.json()["access_token"]

    # The RS introspects at https://proxy:8000 (through the proxy, trusting the local CA).
    me = client.api("/api/me/", token)
    assert me.status_code == 200 and me.json()["username"] == stack.secrets["DEMO_USERNAME"]
    note = client.api("/api/notes/", token, method="POST", json={"text": "posted over HTTPS"})
    assert note.status_code == 201
    assert note.json()["id"] in [n["id"] for n in client.api("/api/notes/", token).json()]
    introspection = client.introspect(token)
    assert introspection.status_code == 200
    assert introspection.json()["active"] is True and introspection.json()["iss"] == stack.auth_url
    assert client.revoke(token).status_code == 200
    assert client.introspect(token).json() == {"active": False}


def test_a_revoked_token_is_refused_within_seconds_by_both_apis_told_over_https(client, stack, team_api):
    """The AS pushes notices to https://proxy:8001 and :8002 (the APIs redirect plain HTTP), trusting the local CA."""
    token = client.client_credentials_token(scope="read team:read")
    for api in (stack.resource_url, team_api):
        assert client.api("/api/me/", token, at=api).status_code == 200, api

    assert revoke_as_client(stack, token).status_code == 200
    revoked = time.monotonic()
    for api in (stack.resource_url, team_api):
        while (answered := client.api("/api/me/", token, at=api)).status_code == 200:
            assert time.monotonic() - revoked < 5, f"{api} still accepts the revoked token"
            time.sleep(0.05)
        assert answered.status_code == 401 and answered.json()["error"] == "invalid_token", answered.text
    delivered = compose("logs", "--no-color", "auth-server").stdout
    for api in (stack.resource_url, team_api):
        assert f"delivered to {api}/" in delivered, api


def test_the_team_api_over_https_is_registered_under_its_https_url_and_takes_its_own_tokens(client, stack, team_api):
    metadata = requests.get(f"{team_api}/.well-known/oauth-protected-resource", timeout=10)
    assert metadata.status_code == 200
    assert metadata.json()["resource"] == f"{team_api}/"
    assert metadata.json()["authorization_servers"] == [stack.auth_url]

    token = client.client_credentials_token(scope="team:read", resource=f"{team_api}/")

    me = requests.get(f"{team_api}/api/me/", headers=bearer(token), timeout=10)
    assert me.status_code == 200 and me.json()["client_id"] == stack.secrets["DEMO_CLIENT_ID"]
    assert client.api("/api/me/", token).status_code == 401


def test_the_local_ca_outlives_the_proxy_container(stack, team_api):
    before = inspect("proxy")["Id"]

    compose("up", "-d", "--no-build", "--force-recreate", "--wait", "--wait-timeout", "120", "proxy")

    assert inspect("proxy")["Id"] != before
    assert compose("exec", "-T", "proxy", "cat", "/ca/root.crt").stdout == CA.read_text()
    for url in (stack.auth_url, stack.resource_url, team_api):
        assert requests.get(f"{url}/healthz", timeout=10).status_code == 200, url
