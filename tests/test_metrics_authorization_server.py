"""The authorization server's series move by exactly what known traffic should cause, under its two workers.

Each test scrapes the AS's metrics (the gunicorn master's sum over its workers,
tests/metrics.py), sends traffic whose effect is known, and scrapes again. The
counters move as each request is answered, whichever worker answers it;
revocation notices go out from the worker's sender threads just after, so their
count is waited for. Wrong secrets and passwords come from the guessing tests'
own address, and their lockouts are lifted afterwards: the stack is shared by
the whole session.
"""

import secrets
import time

import pytest

from . import metrics
from .test_guessing_limits import CREATE_USER, DELETE_USER, GUESSER, PRINT_LIMIT, session_from, sign_in
from .test_revocation_push import revoke_as_client

ISSUED = "authorization_server_tokens_issued_total"
INTROSPECTIONS = "authorization_server_introspection_requests_total"
REVOCATIONS = "authorization_server_revocations_total"
DELIVERIES = "authorization_server_security_event_deliveries_total"
CLIENT_FAILURES = "authorization_server_client_authentication_failures_total"
SIGN_IN_FAILURES = "authorization_server_sign_in_failures_total"
LOCKOUTS = "authorization_server_sign_in_lockouts_total"
# The AS pushes a notice as it revokes; its retries are 7.75 s in all (tests/test_revocation_push.py).
NOTICE_WITHIN = 10


class Moved(metrics.Moved):
    """How far the AS's series moved since this was made."""

    def __init__(self, stack):
        super().__init__(stack, "auth")

    def delivered(self, count: int) -> float:
        """The notices delivered since, once ``count`` are (or NOTICE_WITHIN seconds have passed)."""
        deadline = time.monotonic() + NOTICE_WITHIN
        while self.scrape()(DELIVERIES, outcome="delivered") < count and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)  # and no more than ``count``
        return self.scrape()(DELIVERIES, outcome="delivered")


def grants(moved: Moved) -> dict[str, float]:
    return {
        grant: moved(ISSUED, grant_type=grant)
        for grant in ("client_credentials", "authorization_code", "refresh_token")
    }


def revoked(moved: Moved) -> dict[str, float]:
    return {
        f"{token_type} by {by}": moved(REVOCATIONS, token_type=token_type, by=by)
        for token_type in ("access_token", "refresh_token")
        for by in ("client", "issuer")
    }


@pytest.mark.one_stack
def test_tokens_issued_are_counted_by_grant_type_and_a_replayed_refresh_token_revokes_its_family(client, stack):
    moved = Moved(stack)

    for _ in range(2):
        client.client_credentials_token()
    # Bound to the first API (RFC 8707), so that each token revoked is one notice, to a running API.
    tokens = client.authorization_code_tokens(scope="read", resource=stack.resource)
    refreshed = client.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    replayed = client.refresh(tokens["refresh_token"])  # RFC 9700 §4.14.2: the family goes
    assert replayed.status_code == 400, replayed.text

    moved.scrape()
    assert grants(moved) == {"client_credentials": 2, "authorization_code": 1, "refresh_token": 1}
    # The replay revoked the family's one live refresh token; rotating revoked the first as refreshing does.
    assert revoked(moved) == {
        "access_token by client": 0,
        "access_token by issuer": 0,
        "refresh_token by client": 0,
        "refresh_token by issuer": 1,
    }
    assert moved(CLIENT_FAILURES) == 0
    # The access token rotated out, then the one the family lost: a notice each.
    assert moved.delivered(2) == 2


def test_introspection_is_counted_by_calling_api_and_outcome(client, stack, lifted):
    rs_client = stack.secrets["OAUTH_RS_CLIENT_ID"]
    lifted.append(f"client:{rs_client}")
    token = client.client_credentials_token()
    moved = Moved(stack)

    assert client.api("/api/me/", token).status_code == 200  # the API introspects it, once
    assert client.introspect(token).json()["active"] is True
    assert client.introspect(secrets.token_urlsafe(32)).json() == {"active": False}
    # A client that is no API, a wrong secret (from the guessing tests' address), no credentials.
    machine = (stack.secrets["DEMO_CLIENT_ID"], stack.secrets["DEMO_CLIENT_SECRET"])
    assert client.introspect(token, auth=machine).status_code == 401
    wrong = session_from(GUESSER).post(
        f"{stack.auth_url}/o/introspect/", data={"token": token}, auth=(rs_client, "wrong"), timeout=10
    )
    assert wrong.status_code == 401
    assert client.introspect(token, headers={}).status_code == 401

    moved.scrape()
    assert {
        outcome: moved(INTROSPECTIONS, caller=rs_client, outcome=outcome)
        for outcome in ("active", "inactive", "refused")
    } == {
        "active": 2,
        "inactive": 1,
        "refused": 0,
    }
    assert moved(INTROSPECTIONS, caller="-", outcome="refused") == 3
    assert moved(INTROSPECTIONS, caller=stack.secrets["DEMO_CLIENT_ID"]) == 0
    assert moved(CLIENT_FAILURES) == 2  # the wrong secret and the missing one


@pytest.mark.one_stack
def test_a_revocation_is_counted_and_its_notice_delivered(client, stack):
    token = client.client_credentials_token(resource=stack.resource)  # one API is told
    moved = Moved(stack)

    assert revoke_as_client(stack, token).status_code == 200
    assert revoke_as_client(stack, secrets.token_urlsafe(32)).status_code == 200  # unknown: nothing revoked

    assert moved.delivered(1) == 1
    assert revoked(moved) == {
        "access_token by client": 1,
        "access_token by issuer": 0,
        "refresh_token by client": 0,
        "refresh_token by issuer": 0,
    }


@pytest.mark.one_stack
def test_a_wrong_client_secret_is_a_failed_client_authentication_not_a_sign_in_failure(client, stack, lifted):
    client_id = stack.secrets["DEMO_CLIENT_ID"]
    lifted.append(f"client:{client_id}")
    guesser = session_from(GUESSER)
    moved = Moved(stack)

    for _ in range(2):
        response = guesser.post(
            f"{stack.auth_url}/o/token/",
            data={"grant_type": "client_credentials"},
            auth=(client_id, "wrong"),
            timeout=10,
        )
        assert response.status_code == 401, response.text

    moved.scrape()
    assert moved(CLIENT_FAILURES) == 2
    assert (moved(ISSUED), moved(SIGN_IN_FAILURES), moved(LOCKOUTS)) == (0, 0, 0)


@pytest.mark.one_stack
def test_wrong_passwords_up_to_the_limit_are_sign_in_failures_and_one_lockout(stack, lifted):
    limit = int(stack.auth_manage("shell", "-v", "0", "-c", PRINT_LIMIT).strip())
    username, password = f"counted-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    stack.auth_manage("shell", "-v", "0", "-c", CREATE_USER.format(username=username, password=password))
    lifted.append(username)
    guesser = session_from(GUESSER)
    try:
        moved = Moved(stack)
        guesses = [sign_in(guesser, stack, "/accounts/login/", username, "wrong password") for _ in range(limit)]
        during = sign_in(guesser, stack, "/accounts/login/", username, password)
        moved.scrape()
    finally:
        stack.auth_manage("shell", "-v", "0", "-c", DELETE_USER.format(username=username))

    assert [response.status_code for response in (*guesses, during)] == [200] * (limit - 1) + [429, 429]
    # An attempt during the lockout fails too (axes counts it), and begins no other lockout.
    assert (moved(SIGN_IN_FAILURES), moved(LOCKOUTS)) == (limit + 1, 1)
    assert moved(CLIENT_FAILURES) == 0
