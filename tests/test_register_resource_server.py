"""Registering an API is one idempotent command; what it prints is what the API needs, and cutting it off is immediate.

Each test registers an API of its own (unique client id, resource and scopes) and
removes it afterwards: the stack is shared by the whole session.
"""

import subprocess
import uuid

import pytest
import requests

from .oauth import bearer


class Api:
    """An API registered by the test, through ``manage.py register_resource_server``."""

    def __init__(self, stack):
        self.stack = stack
        name = f"billing-{uuid.uuid4().hex[:8]}"
        self.client_id = f"{name}-api"
        self.resource = f"https://{name}.example/"
        self.scopes = f"{name}:read {name}:write"

    def register(self, *options: str) -> dict:
        """Run the command; the settings it printed, and its comment lines under "#"."""
        output = self.stack.auth_manage("register_resource_server", "--client-id", self.client_id, *options)
        printed = {"#": []}
        for line in output.splitlines():
            if line.startswith("#"):
                printed["#"].append(line)
            else:
                name, _, value = line.partition("=")
                printed[name] = value
        return printed

    def create(self) -> dict:
        return self.register("--resource", self.resource, "--scopes", self.scopes, "--name", "Billing")


@pytest.fixture
def api(stack):
    registered = Api(stack)
    yield registered
    registered.register("--remove")


def credentials(printed: dict) -> tuple[str, str]:
    client_id, _, secret = printed["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"].partition(":")
    return client_id, secret


def test_the_printed_settings_let_the_api_introspect_its_tokens(client, api):
    printed = api.create()
    token = client.client_credentials_token(scope=api.scopes.split()[0], resource=api.resource)

    response = client.introspect(token, auth=credentials(printed))

    assert printed["#"] == [f"# {api.client_id}: created"]
    assert printed["RESOURCE_SERVER_RESOURCE"] == api.resource
    assert printed["RESOURCE_SERVER_SCOPES"] == api.scopes
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["active"], body["aud"], body["scope"]) == (True, [api.resource], api.scopes.split()[0])


def test_a_second_run_changes_nothing_and_prints_no_secret(client, api):
    first = api.create()

    second = api.create()

    assert second["#"][0] == f"# {api.client_id}: unchanged"
    assert "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS" not in second
    kept = f"# RESOURCE_SERVER_INTROSPECTION_CREDENTIALS: {api.client_id}:<its existing secret>, unchanged"
    assert second["#"][1].startswith(kept)
    assert second["RESOURCE_SERVER_RESOURCE"] == api.resource
    assert client.introspect("any", auth=credentials(first)).json() == {"active": False}


def test_a_rotated_secret_replaces_the_old_one_at_once(client, api):
    old = credentials(api.create())

    new = credentials(api.register("--rotate-secret"))

    assert new != old
    assert client.introspect("any", auth=old).status_code == 401
    assert client.introspect("any", auth=new).status_code == 200


def assert_cut_off(client, api_credentials, introspection_token):
    basic = client.introspect("any", auth=api_credentials)
    with_token = client.introspect("any", headers=bearer(introspection_token))
    assert basic.status_code == 401, basic.text
    assert basic.headers["WWW-Authenticate"].startswith("Basic")
    assert with_token.status_code == 401, with_token.text
    assert 'error="invalid_token"' in with_token.headers["WWW-Authenticate"]


def introspection_token(client, api_credentials) -> str:
    response = client.client_credentials(scope="introspection", client=api_credentials)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_disabling_cuts_the_api_off_and_enabling_lets_it_back(client, api):
    api_credentials = credentials(api.create())
    token = introspection_token(client, api_credentials)

    disabled = api.register("--disable")

    assert "# disabled: it may not introspect, and no token can be asked for it" in disabled["#"]
    assert_cut_off(client, api_credentials, token)
    # Its scopes are no longer offered, and its resource is no longer a target.
    assert client.client_credentials(scope=api.scopes.split()[0]).json()["error"] == "invalid_scope"
    refused = client.client_credentials(scope="read", resource=api.resource)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_target"
    api.register("--enable")
    assert client.introspect("any", auth=api_credentials).status_code == 200
    assert client.introspect("any", headers=bearer(token)).status_code == 200


def test_removing_cuts_the_api_off_for_good(client, api):
    api_credentials = credentials(api.create())
    token = introspection_token(client, api_credentials)

    removed = api.register("--remove")

    assert removed["#"] == [f"# {api.client_id}: removed"]
    assert_cut_off(client, api_credentials, token)
    metadata = requests.get(f"{client.stack.auth_url}/.well-known/oauth-authorization-server", timeout=10).json()
    assert not set(api.scopes.split()) & set(metadata["scopes_supported"])


def test_the_api_scopes_are_offered_while_it_is_registered(client, api):
    def supported():
        response = requests.get(f"{client.stack.auth_url}/.well-known/oauth-authorization-server", timeout=10)
        return set(response.json()["scopes_supported"])

    api.create()

    assert set(api.scopes.split()) <= supported()
    api.register("--disable")
    assert not set(api.scopes.split()) & supported()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--resource", "billing.example", "--scopes", "b:read"], "must be an absolute URI"),
        (["--resource", "https://billing.example/#top", "--scopes", "b:read"], "no fragment (RFC 8707 §2)"),
        (["--resource", "https://billing.example/", "--scopes", "read"], "Already owned by another API: read"),
        (["--scopes", "b:read"], "registering it takes --resource and --scopes"),
        # Checked before anything is saved: PostgreSQL would refuse the client's name with a DataError.
        (
            ["--resource", "https://billing.example/", "--scopes", "b:read", "--name", "N" * 300],
            "name: Ensure this value has at most 255 characters",
        ),
    ],
    ids=["relative", "fragment", "taken-scope", "incomplete", "name-too-long"],
)
def test_bad_input_is_one_clear_line_and_registers_nothing(client, api, options, message):
    with pytest.raises(subprocess.CalledProcessError) as refused:
        api.register(*options)

    assert refused.value.returncode == 1
    assert message in refused.value.stderr
    assert "Traceback" not in refused.value.stderr
    assert "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS" not in refused.value.stdout
