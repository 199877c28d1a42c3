"""Deregistering or disabling a resource server cuts off every way it introspects.

Each test restores the demo resource server's registration: the stack is shared
by the whole session.
"""

import base64
import json

import pytest
import requests

CHANGE_REGISTRATION = """
from authorization.models import ResourceServer
ResourceServer.objects.filter(application__client_id="{client_id}").{change}
"""
# The registration as it was, printed as JSON, to be restored after the test:
# its scopes and resource identifier are what every other test asks tokens for.
READ_REGISTRATION = """
import json
from authorization.models import ResourceServer
registration = ResourceServer.objects.get(application__client_id="{client_id}")
fields = ("name", "resource", "scopes", "enabled", "events_endpoint")
print(json.dumps({{field: getattr(registration, field) for field in fields}}))
"""
RESTORE_REGISTRATION = """
from oauth2_provider.models import get_application_model
from authorization.models import ResourceServer
application = get_application_model().objects.get(client_id="{client_id}")
ResourceServer.objects.update_or_create(application=application, defaults={fields})
"""


@pytest.fixture
def registration(stack):
    """Change the demo resource server's registration: ``registration("delete()")``."""
    client_id = stack.secrets["OAUTH_RS_CLIENT_ID"]

    def shell(command: str) -> str:
        return stack.auth_manage("shell", "-v", "0", "-c", command)

    def change(queryset_call: str) -> None:
        shell(CHANGE_REGISTRATION.format(client_id=client_id, change=queryset_call))

    saved = json.loads(shell(READ_REGISTRATION.format(client_id=client_id)))
    yield change
    shell(RESTORE_REGISTRATION.format(client_id=client_id, fields=repr(saved)))


def introspect_both_ways(client, token: str, bearer_scheme: str = "Bearer") -> list[requests.Response]:
    """The resource server's two ways in: its client credentials (Basic) and its introspection token."""
    introspection_token = client.secrets["OAUTH_RS_INTROSPECTION_TOKEN"]
    return [
        client.introspect(token),
        client.introspect(token, headers={"Authorization": f"{bearer_scheme} {introspection_token}"}),
    ]


def assert_cut_off(client, token: str) -> None:
    basic, bearer = introspect_both_ways(client, token)
    assert basic.status_code == 401, basic.text
    assert basic.headers["WWW-Authenticate"].startswith("Basic")
    assert bearer.status_code == 401, bearer.text
    assert 'error="invalid_token"' in bearer.headers["WWW-Authenticate"]
    for response in (basic, bearer):
        assert "active" not in response.json()
    # The resource server, in whichever mode it runs, can no longer check a token it has not cached.
    assert client.api("/api/me/", token).status_code == 503
    # Nor can a client be given a token with its scopes: they are offered while it is registered and enabled.
    refused = client.client_credentials(scope="read")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"


def test_deleted_registration_stops_basic_and_bearer_introspection(client, registration):
    token = client.client_credentials_token()

    registration("delete()")

    assert_cut_off(client, token)


def test_disabled_resource_server_is_cut_off_and_gets_no_introspection_scope(client, registration):
    token = client.client_credentials_token()
    rs_client = (client.secrets["OAUTH_RS_CLIENT_ID"], client.secrets["OAUTH_RS_CLIENT_SECRET"])

    registration("update(enabled=False)")

    assert_cut_off(client, token)
    refused = client.client_credentials(scope="introspection", client=rs_client)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"


def test_reenabled_resource_server_introspects_again(client, registration):
    token = client.client_credentials_token()
    registration("update(enabled=False)")

    registration("update(enabled=True)")

    for response in introspect_both_ways(client, token):
        assert response.status_code == 200, response.text
        assert response.json()["active"] is True
    assert client.api("/api/me/", client.client_credentials_token()).status_code == 200


@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
def test_bearer_scheme_is_case_insensitive(client, scheme):
    # RFC 7235 §2.1 / RFC 9110 §11.1.
    token = client.client_credentials_token()

    response = introspect_both_ways(client, token, bearer_scheme=scheme)[1]

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["active"] is True


def test_basic_scheme_is_case_insensitive(client):
    token = client.client_credentials_token()
    pair = f"{client.secrets['OAUTH_RS_CLIENT_ID']}:{client.secrets['OAUTH_RS_CLIENT_SECRET']}"

    response = client.introspect(token, headers={"Authorization": "basic " + base64.b64encode(pair.encode()).decode()})

    assert response.status_code == 200, response.text
    assert response.json()["active"] is True
