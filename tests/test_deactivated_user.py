"""A deactivated user loses access at once: tokens, refresh, pending codes, sign-in and session.

A user of its own, never the demo user: the stack is shared by the whole session.
"""

import secrets
from urllib.parse import urlencode

import pytest
import requests

from .oauth import Client, form

# A deactivation is the AS's, and its notice reaches the API the same way whatever the API's caller mode.
# Once, on the first stack (the one_stack marker).
pytestmark = pytest.mark.one_stack

CREATE_USER = """
from django.contrib.auth import get_user_model
get_user_model().objects.create_user("{username}", password="{password}")
"""
DEACTIVATE = """
from django.contrib.auth import get_user_model
get_user_model().objects.filter(username="{username}").update(is_active=False)
"""
DELETE_USER = """
from django.contrib.auth import get_user_model
get_user_model().objects.filter(username="{username}").delete()
"""


@pytest.fixture
def user_client(stack):
    """A Client that signs in as a user of its own."""
    username, password = f"deactivated-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    stack.auth_manage("shell", "-v", "0", "-c", CREATE_USER.format(username=username, password=password))
    user = Client(stack)
    user.secrets = {**stack.secrets, "DEMO_USERNAME": username, "DEMO_PASSWORD": password}
    yield user
    stack.auth_manage("shell", "-v", "0", "-c", DELETE_USER.format(username=username))


def deactivate(user: Client) -> None:
    user.stack.auth_manage("shell", "-v", "0", "-c", DEACTIVATE.format(username=user.secrets["DEMO_USERNAME"]))


def signed_in_session(user: Client) -> tuple[requests.Session, str]:
    """A session signed in through the sign-in form, and an authorization URL that needs one."""
    session = requests.Session()
    query = {
        "response_type": "code",
        "client_id": user.secrets["DEMO_PUBLIC_CLIENT_ID"],
        "redirect_uri": user.secrets["DEMO_REDIRECT_URI"],
        "scope": "read",
        "code_challenge": "c" * 43,
        "code_challenge_method": "S256",
    }
    authorize_url = f"{user.stack.auth_url}/o/authorize/?{urlencode(query)}"
    action, fields = form(session.get(authorize_url, timeout=10))
    fields.update(username=user.secrets["DEMO_USERNAME"], password=user.secrets["DEMO_PASSWORD"])
    consent = session.post(action, data=fields, timeout=10)
    assert consent.status_code == 200 and "/o/authorize/" in consent.url, consent.text[:500]
    return session, authorize_url


def sign_in(user: Client) -> requests.Response:
    session = requests.Session()
    action, fields = form(session.get(f"{user.stack.auth_url}/accounts/login/", timeout=10))
    fields.update(username=user.secrets["DEMO_USERNAME"], password=user.secrets["DEMO_PASSWORD"])
    return session.post(action, data=fields, allow_redirects=False, timeout=10)


def test_deactivated_users_tokens_are_inactive_and_refused_by_the_resource_server(user_client):
    tokens = user_client.authorization_code_tokens(scope="read")
    unseen = user_client.authorization_code_tokens(scope="read")["access_token"]  # the RS has not cached it

    deactivate(user_client)

    for value in (tokens["access_token"], tokens["refresh_token"], unseen):
        introspected = user_client.introspect(value)
        assert introspected.status_code == 200
        assert introspected.json() == {"active": False}
    response = user_client.api("/api/me/", unseen)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.json()["error"] == "invalid_token"


def test_deactivated_user_cannot_refresh_nor_exchange_a_code_issued_before(user_client):
    refresh_token = user_client.authorization_code_tokens(scope="read")["refresh_token"]
    pending = user_client.authorize(scope="read")
    assert pending.status_code == 302, pending.text[:300]

    deactivate(user_client)

    for response in (user_client.refresh(refresh_token), user_client.exchange(pending)):
        assert response.status_code == 400, response.text
        assert response.headers["Content-Type"] == "application/json"
        assert response.json()["error"] == "invalid_grant"


def test_deactivated_user_cannot_sign_in_and_loses_the_session(user_client):
    session, authorize_url = signed_in_session(user_client)
    assert sign_in(user_client).status_code == 302  # the form works for an active user

    deactivate(user_client)

    refused = sign_in(user_client)
    assert refused.status_code == 200
    assert "Please enter a correct username and password" in refused.text
    assert "sessionid" not in refused.cookies
    signed_out = session.get(authorize_url, allow_redirects=False, timeout=10)
    assert signed_out.status_code == 302
    assert signed_out.headers["Location"].startswith("/accounts/login/")
