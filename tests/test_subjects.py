"""``sub`` names one user or one client of this issuer, and only that one."""

import secrets

import pytest

# A confidential client-credentials client whose client_id is the demo user's
# primary key: before subjects, both had ``sub`` "<pk>".
REGISTER_NAMESAKE = """
from django.contrib.auth import get_user_model
from oauth2_provider.models import get_application_model
Application = get_application_model()
pk = str(get_user_model().objects.get(username="{username}").pk)
Application.objects.filter(client_id=pk).delete()
Application.objects.create(
    client_id=pk,
    client_secret="{secret}",
    client_type=Application.CLIENT_CONFIDENTIAL,
    authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    name="Namesake of the demo user",
)
print(pk)
"""
DELETE_CLIENT = """
from oauth2_provider.models import get_application_model
get_application_model().objects.filter(client_id="{client_id}").delete()
"""


@pytest.fixture
def namesake(stack):
    """(client_id, secret) of a client registered under the demo user's primary key."""
    secret = secrets.token_urlsafe(32)
    output = stack.auth_manage(
        "shell", "-v", "0", "-c", REGISTER_NAMESAKE.format(username=stack.secrets["DEMO_USERNAME"], secret=secret)
    )
    client_id = output.strip().splitlines()[-1]
    yield client_id, secret
    stack.auth_manage("shell", "-v", "0", "-c", DELETE_CLIENT.format(client_id=client_id))


def token_of(client, credentials) -> str:
    response = client.client_credentials(scope="read write", client=credentials)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_client_named_like_a_users_primary_key_cannot_read_that_users_notes(client, namesake):
    user_token = client.authorization_code_tokens(scope="read write")["access_token"]
    created = client.api("/api/notes/", user_token, method="POST", json={"text": "only mine"})
    assert created.status_code == 201, created.text
    note = created.json()["id"]

    namesake_token = token_of(client, namesake)
    listed = client.api("/api/notes/", namesake_token)
    fetched = client.api(f"/api/notes/{note}/", namesake_token)

    assert listed.status_code == 200
    assert note not in [entry["id"] for entry in listed.json()]
    assert fetched.status_code == 404
    assert client.api(f"/api/notes/{note}/", user_token).json()["text"] == "only mine"


def test_the_namesakes_subjects_differ_and_neither_is_the_old_value(client, namesake):
    user_sub = client.introspect(client.authorization_code_tokens(scope="read")["access_token"]).json()["sub"]
    client_sub = client.introspect(token_of(client, namesake)).json()["sub"]

    assert user_sub != client_sub
    assert namesake[0] not in (user_sub, client_sub)


def test_a_users_subject_is_the_same_in_every_token_and_at_the_resource_server(client):
    first, second = (client.authorization_code_tokens(scope="read")["access_token"] for _ in range(2))

    introspected = [client.introspect(token).json()["sub"] for token in (first, second)]
    at_the_api = [client.api("/api/me/", token).json()["sub"] for token in (first, second)]

    assert introspected[0] == introspected[1] == at_the_api[0] == at_the_api[1]
    assert introspected[0] != client.secrets["DEMO_USERNAME"]


def test_user_and_client_subjects_differ(client):
    user_sub = client.introspect(client.authorization_code_tokens(scope="read")["access_token"]).json()["sub"]
    client_sub = client.introspect(client.client_credentials_token()).json()["sub"]

    assert user_sub != client_sub
    assert client_sub != client.secrets["DEMO_CLIENT_ID"]
