"""RFC 8707 at the AS: a resource names a registered API, a token for some APIs carries only their scopes,
and each API learns by introspection only of the tokens issued for it.

Two APIs are registered for the module with ``manage.py register_resource_server``
and removed at its end; they introspect with the credentials the command printed.
"""

import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from .oauth import form


@dataclass
class Api:
    client_id: str
    resource: str
    scope: str
    credentials: tuple[str, str]


def register(stack, name: str) -> Api:
    name = f"{name}-{uuid.uuid4().hex[:8]}"
    client_id, resource, scope = f"{name}-api", f"https://{name}.example/", f"{name}:read"
    output = stack.auth_manage(
        "register_resource_server", "--client-id", client_id, "--resource", resource, "--scopes", scope, "--name", name
    )
    settings = dict(line.partition("=")[::2] for line in output.splitlines() if not line.startswith("#"))
    client_id, _, secret = settings["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"].partition(":")
    return Api(client_id, resource, scope, (client_id, secret))


@pytest.fixture(scope="module")
def apis(stack):
    alpha, beta = register(stack, "alpha"), register(stack, "beta")
    yield alpha, beta
    for api in (alpha, beta):
        stack.auth_manage("register_resource_server", "--client-id", api.client_id, "--remove")


def assert_refused(response, error: str, *description: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json()["error"] == error
    for text in description:
        assert text in response.json()["error_description"]


def test_a_resource_that_names_no_registered_api_is_invalid_target(client, apis):
    alpha, _ = apis
    unregistered = f"https://unregistered-{uuid.uuid4().hex[:8]}.example/"

    for resource in (unregistered, alpha.resource.rstrip("/"), [alpha.resource, unregistered]):
        response = client.client_credentials(scope=alpha.scope, resource=resource)
        assert_refused(response, "invalid_target", "names no API registered")


def test_a_token_for_one_api_cannot_carry_another_apis_scope(client, apis):
    alpha, beta = apis

    response = client.client_credentials(scope=f"{alpha.scope} {beta.scope}", resource=alpha.resource)

    assert_refused(response, "invalid_scope", f"'{beta.scope}' belongs to the API {beta.resource}")


def test_a_token_for_both_apis_carries_both_scopes_and_both_see_it(client, apis):
    alpha, beta = apis
    token = client.client_credentials_token(
        scope=f"{alpha.scope} {beta.scope}", resource=[alpha.resource, beta.resource]
    )

    for api in apis:
        body = client.introspect(token, auth=api.credentials).json()
        assert body["active"] is True, api.client_id
        assert body["aud"] == [alpha.resource, beta.resource]


def test_an_api_learns_nothing_of_a_token_for_another_api(client, apis):
    alpha, beta = apis
    token = client.client_credentials_token(scope=alpha.scope, resource=alpha.resource)

    hidden = client.introspect(token, auth=beta.credentials)
    shown = client.introspect(token, auth=alpha.credentials)

    assert hidden.status_code == 200
    assert hidden.json() == {"active": False}
    assert shown.json()["active"] is True


def test_a_token_without_resource_is_seen_by_every_api(client, apis):
    alpha, beta = apis
    token = client.client_credentials_token(scope=f"{alpha.scope} {beta.scope}")

    for api in apis:
        assert client.introspect(token, auth=api.credentials).json()["active"] is True, api.client_id


def authorize(client, session, query, **extra) -> requests.Response:
    url = f"{client.stack.auth_url}/o/authorize/?{urlencode({**query, **extra}, doseq=True)}"
    return session.get(url, allow_redirects=False, timeout=10)


@pytest.mark.parametrize(
    ("resource", "error"), [("unregistered", "invalid_target"), ("alpha", "invalid_scope")], ids=lambda value: value
)
def test_the_authorization_endpoint_redirects_the_same_errors(client, apis, resource, error):
    alpha, beta = apis
    session, query, _, _ = client.at_consent(scope="read", state="kept")
    resource = {"unregistered": f"https://unregistered-{uuid.uuid4().hex[:8]}.example/", "alpha": alpha.resource}[
        resource
    ]

    response = authorize(client, session, query, scope=f"{alpha.scope} {beta.scope}", resource=resource)

    assert response.status_code == 302, response.text[:300]
    assert response.headers["Location"].startswith(client.secrets["DEMO_REDIRECT_URI"])
    answer = parse_qs(urlsplit(response.headers["Location"]).query)
    assert answer["error"] == [error]
    assert answer["state"] == ["kept"]


def test_the_consent_page_groups_the_scopes_by_api(client, apis):
    alpha, beta = apis
    session, query, _, _ = client.at_consent(scope="read", state="kept")

    page = authorize(
        client, session, query, scope=f"{beta.scope} {alpha.scope}", resource=[alpha.resource, beta.resource]
    )

    assert page.status_code == 200, page.text[:300]
    beta_name, alpha_name = (f"<h2>{api.client_id.removesuffix('-api')}</h2>" for api in (beta, alpha))
    assert page.text.index(beta_name) < page.text.index(f"<code>{beta.scope}</code>") < page.text.index(alpha_name)
    assert page.text.index(alpha_name) < page.text.index(f"<code>{alpha.scope}</code>")
    fields = form(page)[1]
    assert fields["scope"] == f"{beta.scope} {alpha.scope}"
    assert fields["resource"] == f"{alpha.resource} {beta.resource}"
