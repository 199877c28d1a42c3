"""Guessing a client secret or a password locks out the guesser's address, and only that.

The guesses come from 127.0.0.2; the resource server and the other tests talk
from 127.0.0.1. The shipped limits apply. Each test lifts its lockouts at the
end: the stack is shared by the whole session.
"""

import secrets

import pytest
import requests
from requests.adapters import HTTPAdapter

from .oauth import form

GUESSER = "127.0.0.2"
PRINT_LIMIT = "from django.conf import settings; print(settings.AXES_FAILURE_LIMIT)"
CREATE_USER = """
from django.contrib.auth import get_user_model
get_user_model().objects.create_user("{username}", password="{password}", is_staff=True)
"""
DELETE_USER = """
from django.contrib.auth import get_user_model
get_user_model().objects.filter(username="{username}").delete()
"""


class SourceAddressAdapter(HTTPAdapter):
    """Connections that leave from a chosen local address."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


def session_from(address: str) -> requests.Session:
    session = requests.Session()
    adapter = SourceAddressAdapter(address)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@pytest.fixture
def failure_limit(stack) -> int:
    return int(stack.auth_manage("shell", "-v", "0", "-c", PRINT_LIMIT).strip())


def client_authentication(session, stack, endpoint: str, secret: str) -> requests.Response:
    data = {"token": "x"} if endpoint == "/o/introspect/" else {"grant_type": "client_credentials"}
    return session.post(
        f"{stack.auth_url}{endpoint}", data=data, auth=(stack.secrets["OAUTH_RS_CLIENT_ID"], secret), timeout=10
    )


@pytest.mark.parametrize("endpoint", ["/o/introspect/", "/o/token/"])
def test_guessing_the_resource_servers_secret_locks_out_the_guesser_not_the_resource_server(
    client, stack, failure_limit, lifted, endpoint
):
    lifted.append(f"client:{stack.secrets['OAUTH_RS_CLIENT_ID']}")
    guesser = session_from(GUESSER)

    guesses = [client_authentication(guesser, stack, endpoint, secrets.token_urlsafe(16)) for _ in range(failure_limit)]
    right_secret = client_authentication(guesser, stack, endpoint, stack.secrets["OAUTH_RS_CLIENT_SECRET"])

    assert [response.status_code for response in guesses] == [401] * (failure_limit - 1) + [429]
    for locked in (guesses[-1], right_secret):
        assert locked.status_code == 429, locked.text
        assert int(locked.headers["Retry-After"]) > 0
        assert locked.headers["Content-Type"] == "application/json"
        assert locked.json()["error"] == "invalid_client"
    # The resource server introspects from its own address, in either mode.
    response = client.api("/api/me/", client.client_credentials_token())
    assert response.status_code == 200, response.text


ATTEMPT = """
from axes.models import AccessAttempt
attempt = AccessAttempt.objects.get(username="client:{client_id}")
print(attempt.ip_address, attempt.failures_since_start, attempt.attempt_time.isoformat())
"""


@pytest.mark.one_stack
def test_attempts_during_a_client_lockout_do_not_prolong_it(stack, failure_limit, lifted):
    client_id = stack.secrets["OAUTH_RS_CLIENT_ID"]
    lifted.append(f"client:{client_id}")
    guesser = session_from(GUESSER)
    for _ in range(failure_limit):
        client_authentication(guesser, stack, "/o/introspect/", secrets.token_urlsafe(16))
    attempt = stack.auth_manage("shell", "-v", "0", "-c", ATTEMPT.format(client_id=client_id))

    during = [client_authentication(guesser, stack, "/o/introspect/", stack.secrets["OAUTH_RS_CLIENT_SECRET"])]
    during += [client_authentication(guesser, stack, "/o/token/", secrets.token_urlsafe(16)) for _ in range(3)]

    assert [response.status_code for response in during] == [429] * 4
    # The cool-off still runs from the failure that caused the lockout: the right
    # secret of the resource server, sent from the guesser's address, does not
    # keep it locked out for good.
    assert stack.auth_manage("shell", "-v", "0", "-c", ATTEMPT.format(client_id=client_id)) == attempt


@pytest.fixture
def user(stack, lifted):
    username, password = f"guessed-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    stack.auth_manage("shell", "-v", "0", "-c", CREATE_USER.format(username=username, password=password))
    lifted.append(username)
    yield username, password
    stack.auth_manage("shell", "-v", "0", "-c", DELETE_USER.format(username=username))


def sign_in(session, stack, path: str, username: str, password: str) -> requests.Response:
    action, fields = form(session.get(f"{stack.auth_url}{path}", timeout=10))
    fields.update(username=username, password=password)
    return session.post(action, data=fields, allow_redirects=False, timeout=10)


@pytest.mark.one_stack
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_wrong_passwords_lock_out_that_user_from_that_address_only(stack, failure_limit, user, path):
    username, password = user
    guesser = session_from(GUESSER)

    guesses = [sign_in(guesser, stack, path, username, "wrong password") for _ in range(failure_limit)]
    right_password = sign_in(guesser, stack, path, username, password)
    elsewhere = sign_in(requests.Session(), stack, path, username, password)

    assert [response.status_code for response in guesses] == [200] * (failure_limit - 1) + [429]
    for locked in (guesses[-1], right_password):
        assert locked.status_code == 429
        assert int(locked.headers["Retry-After"]) > 0
        assert "Too many failed sign-in attempts" in locked.text
    if stack.compose_project:
        # Docker publishes the proxy's ports through the edge network's gateway, so
        # every client on the host, 127.0.0.1 and 127.0.0.2 alike, is one address there.
        assert elsewhere.status_code == 429
    else:
        assert elsewhere.status_code == 302, elsewhere.text[:500]
        assert "sessionid" in elsewhere.cookies
