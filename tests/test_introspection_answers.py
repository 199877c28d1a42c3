"""No answer of the authorization server is ever a 500 at the resource server.

A fake AS answers raw bodies: numbers JSON allows but no clock reaches, members
of the wrong type, an active token without a subject. Each is the AS
misbehaving: 503 with Retry-After, logged (throttled), and the next good answer
is served as usual.
"""

import secrets
import time

import pytest
import requests

from .fake_authorization_server import FakeAuthorizationServer
from .log_records import records
from .oauth import bearer


def active(**members: str | None) -> bytes:
    """An active answer whose members are given as raw JSON text (None leaves one out)."""
    raw = {
        "active": "true",
        "scope": '"read write"',
        "client_id": '"fake-client"',
        "sub": '"fake-subject"',
        "exp": str(int(time.time()) + 600),
        **members,
    }
    return ("{" + ", ".join(f'"{name}": {value}' for name, value in raw.items() if value is not None) + "}").encode()


NUMBERS = {
    "exp 1e400": active(exp="1e400"),
    "exp NaN": active(exp="NaN"),
    "exp Infinity": active(exp="Infinity"),
    "exp -Infinity": active(exp="-Infinity"),
    "exp 10**400": active(exp=str(10**400)),
    "exp with 5000 digits": active(exp="9" * 5000),
    "exp negative": active(exp="-1"),
    "iat NaN": active(iat="NaN"),
    "nbf 1e400": active(nbf="1e400"),
}
TYPES = {
    "exp as a string": active(exp='"tomorrow"'),
    "exp as a boolean": active(exp="true"),
    "scope as a list": active(scope='["read", "write"]'),
    "client_id as a number": active(client_id="7"),
    "token_type as an object": active(token_type='{"bearer": true}'),
    "aud as a number": active(aud="7"),
    "aud as a list with a number": active(aud='["https://payments.example/", 7]'),
    "sub as a number": active(sub="42"),
    "nested past the parser's recursion limit": b'{"active": true, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
}
NO_SUBJECT = {
    "sub missing": active(sub=None),
    "sub empty": active(sub='""'),
    "sub null": active(sub="null"),
}


@pytest.fixture
def fake_as(resource_server):
    with FakeAuthorizationServer("answer") as fake:
        yield fake, resource_server(RESOURCE_SERVER_INTROSPECTION_URL=fake.url)


def call(server, method="GET", path="/api/me/"):
    # A new token each time: a good answer is cached per token.
    headers = bearer(secrets.token_urlsafe(24))
    return requests.request(method, f"{server.url}{path}", headers=headers, json={"text": "t"}, timeout=15)


def assert_each_is_503_and_good_answers_still_work(fake, server, cases: dict, method="GET", path="/api/me/"):
    for case, body in cases.items():
        fake.body = body
        refused = call(server, method, path)

        assert refused.status_code == 503, (case, refused.status_code, refused.text[:300])
        assert int(refused.headers["Retry-After"]) > 0, case
        assert refused.json()["error"] == "temporarily_unavailable", case

        fake.body = active()
        served = call(server)

        assert served.status_code == 200, (case, served.status_code, served.text[:300])
        assert served.json()["sub"] == "fake-subject", case
    lines = [line for line in records(server.log.read_text()) if "not a valid RFC 7662 answer" in line["message"]]
    assert 1 <= len(lines) <= len(server.workers()), lines  # once per worker and interval, not per request
    assert not [line for line in records(server.log.read_text()) if line.get("status") == 500]  # access lines


def test_numbers_no_clock_reaches_are_503(fake_as):
    fake, server = fake_as
    assert_each_is_503_and_good_answers_still_work(fake, server, NUMBERS)


def test_members_of_the_wrong_type_are_503(fake_as):
    fake, server = fake_as
    assert_each_is_503_and_good_answers_still_work(fake, server, TYPES)


def test_an_active_answer_without_a_subject_is_503_for_reads_and_writes(fake_as):
    fake, server = fake_as
    assert_each_is_503_and_good_answers_still_work(fake, server, NO_SUBJECT)
    assert_each_is_503_and_good_answers_still_work(fake, server, NO_SUBJECT, method="POST", path="/api/notes/")


def test_a_future_nbf_is_invalid_token(fake_as):
    fake, server = fake_as
    fake.body = active(nbf=str(int(time.time()) + 600))

    response = call(server)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
