"""A client secret still hashed with PBKDF2 (a database from before the fast hasher) is rehashed on first use."""

import pytest

STORE_PBKDF2_HASH = """
from django.contrib.auth.hashers import make_password
from oauth2_provider.models import get_application_model
get_application_model().objects.filter(client_id="{client_id}").update(
    client_secret=make_password("{secret}", hasher="pbkdf2_sha256")
)
"""
PRINT_HASHER = """
from django.contrib.auth.hashers import identify_hasher
from oauth2_provider.models import get_application_model
print(identify_hasher(get_application_model().objects.get(client_id="{client_id}").client_secret).algorithm)
"""


def stored_hasher(stack, client_id: str) -> str:
    return stack.auth_manage("shell", "-v", "0", "-c", PRINT_HASHER.format(client_id=client_id)).strip()


def authenticate(client, who: str):
    """The demo client at the token endpoint, or the resource server's client at introspection."""
    if who == "demo client":
        return client.client_credentials()
    return client.introspect(client.client_credentials_token())


@pytest.mark.parametrize(
    ("who", "id_variable", "secret_variable"),
    [
        ("demo client", "DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET"),
        ("resource server", "OAUTH_RS_CLIENT_ID", "OAUTH_RS_CLIENT_SECRET"),
    ],
)
def test_pbkdf2_hash_moves_to_the_client_secret_hasher_on_first_use(client, stack, who, id_variable, secret_variable):
    client_id, secret = stack.secrets[id_variable], stack.secrets[secret_variable]
    stack.auth_manage("shell", "-v", "0", "-c", STORE_PBKDF2_HASH.format(client_id=client_id, secret=secret))
    assert stored_hasher(stack, client_id) == "pbkdf2_sha256"

    first = authenticate(client, who)

    assert first.status_code == 200, first.text
    assert stored_hasher(stack, client_id) == "client_secret_sha256"
    again = authenticate(client, who)
    assert again.status_code == 200, again.text
    assert again.headers["Content-Type"] == "application/json"
