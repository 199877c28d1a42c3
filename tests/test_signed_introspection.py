"""Signed introspection answers (RFC 9701): the APIs ask the AS for a JWT and trust no other answer.

The stack's APIs run as shipped: RESOURCE_SERVER_INTROSPECTION_SIGNED on, and in
token mode RESOURCE_SERVER_CLIENT_ID naming the client the answers are for
(tests/stack.py). Against the real AS their tokens work; the AS's answer is a JWT
for the API that asked, which still verifies after the AS rotates its key.

Anything between the API and the AS that changes an answer must not mint an
identity: one API faces a fake AS (tests/fake_authorization_server.py) that signs
with a key it publishes, each answer with the fault a test switches to, and each
fault is 503, as when the AS is down, with a token of its own so that no cached
answer hides it. A genuine answer from the same fake is accepted: the refusals are
the faults' doing.
"""

import json
import secrets
import time

import pytest
import requests
from jwcrypto import jwk, jws, jwt

from shared.token_introspection import CLAIM, MEDIA_TYPE, TYPE

from .fake_authorization_server import FAULTS, INTROSPECTED, JWKS_PATH, FakeAuthorizationServer
from .oauth import bearer
from .stack import ROOT, signing_key
from .test_token_cache import me_on_a_connection_of_its_own

# The AS's clock and ours are one (loopback); an answer is signed while we wait.
NOW_WITHIN = 5
# An API fetches the AS's keys again on an unknown kid at most this often (resource_server/introspection/jwks.py).
REFETCH_SECONDS = 3
# Enough new tokens and connections for every worker to serve one, on a busy machine.
EVERY_WORKER_WITHIN = 10


def caller(stack) -> dict:
    """How the first API authenticates to the introspection endpoint in the stack's mode."""
    if stack.mode == "token":
        return {"headers": bearer(stack.secrets["OAUTH_RS_INTROSPECTION_TOKEN"])}
    return {"auth": (stack.secrets["OAUTH_RS_CLIENT_ID"], stack.secrets["OAUTH_RS_CLIENT_SECRET"])}


def introspect(stack, token: str, accept: str) -> requests.Response:
    """The first API's introspection call, asking for ``accept``."""
    how = caller(stack)
    headers = {**how.pop("headers", {}), "Accept": accept}
    return requests.post(f"{stack.auth_url}/o/introspect/", data={"token": token}, headers=headers, timeout=10, **how)


def metadata(stack) -> dict:
    """The AS's RFC 8414 metadata."""
    response = requests.get(f"{stack.auth_url}/.well-known/oauth-authorization-server", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def as_keys(stack) -> jwk.JWKSet:
    response = requests.get(f"{stack.auth_url}{JWKS_PATH}", timeout=10)
    assert response.status_code == 200, response.text
    return jwk.JWKSet.from_json(response.content)


def verified(stack, answer: str) -> tuple[dict, dict]:
    """The header and claims of a signed answer, verified against the keys the AS publishes."""
    signed = jwt.JWT(jwt=answer, key=as_keys(stack), algs=["RS256"], expected_type="JWS", check_claims=False)
    return signed.token.jose_header, jwt.json_decode(signed.claims)


def kid_of(answer: str) -> str:
    signed = jws.JWS()
    signed.deserialize(answer)
    return signed.jose_header["kid"]


def every_worker_answers(api, client, *statuses: int) -> None:
    """GET /api/me/ with a new token each time (introspected), until every worker has answered 200.

    Any of ``statuses`` is tolerated on the way, within REFETCH_SECONDS and the time to reach every worker.
    """
    deadline = time.monotonic() + REFETCH_SECONDS + EVERY_WORKER_WITHIN
    accepted_by = set()
    while accepted_by != set(api.workers()):
        status, body, worker = me_on_a_connection_of_its_own(api, client.client_credentials_token())
        assert status in (200, *statuses) and time.monotonic() < deadline, (status, body, accepted_by)
        if status == 200:
            accepted_by.add(worker)


def assert_unavailable(response: requests.Response) -> None:
    """The API's usual 503: the AS could not say, the client retries the same token later."""
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Retry-After"]) > 0
    assert "WWW-Authenticate" not in response.headers  # not the token's fault
    body = response.json()
    assert body.pop("request_id") == response.headers["X-Request-ID"]
    assert body == {
        "error": "temporarily_unavailable",
        "error_description": "The authorization server could not check the access token; retry later.",
    }


# The real AS.


def test_the_as_says_it_signs_introspection_answers_with_rs256(stack):
    assert metadata(stack)["introspection_signing_alg_values_supported"] == ["RS256"]


def test_the_as_signs_its_answer_for_the_api_that_asks(client, stack):
    token = client.client_credentials_token()

    answer = introspect(stack, token, MEDIA_TYPE)

    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == MEDIA_TYPE
    assert "Accept" in answer.headers["Vary"]
    header, claims = verified(stack, answer.text)
    assert header["typ"] == TYPE and header["alg"] == "RS256"
    plain = introspect(stack, token, "application/json")
    assert plain.headers["Content-Type"] == "application/json"
    assert claims[CLAIM] == plain.json() and claims[CLAIM]["active"] is True
    assert claims["iss"] == plain.json()["iss"] == metadata(stack)["issuer"]
    assert claims["aud"] == stack.secrets["OAUTH_RS_CLIENT_ID"]  # in token mode too: the token's client
    assert abs(claims["iat"] - time.time()) < NOW_WITHIN


def test_the_as_signs_an_inactive_answer_with_nothing_but_active(stack):
    answer = introspect(stack, secrets.token_urlsafe(32), MEDIA_TYPE)

    assert answer.status_code == 200, answer.text
    assert verified(stack, answer.text)[1][CLAIM] == {"active": False}


def test_both_apis_accept_the_signed_answers_of_the_as(client, stack, team_api):
    for scope, api in (("read", stack.resource_url), ("team:read", team_api)):
        token = client.client_credentials_token(scope=scope)

        response = client.api("/api/me/", token, at=api)

        assert response.status_code == 200, response.text
        assert response.json()["sub"] == client.introspect(token).json()["sub"]


def test_an_api_asks_for_a_signed_answer_and_gets_one(client, stack, resource_server, relay):
    # Through a relay, the keys by a path it does not pass (README: what signing protects against).
    server = resource_server(
        RESOURCE_SERVER_INTROSPECTION_URL=relay.url,
        RESOURCE_SERVER_INTROSPECTION_SIGNED="true",
        RESOURCE_SERVER_ISSUER=metadata(stack)["issuer"],
        RESOURCE_SERVER_JWKS_URL=f"{stack.auth_url}{JWKS_PATH}",
    )
    token = client.client_credentials_token()

    response = client.api("/api/me/", token, at=server.url)

    assert response.status_code == 200, response.text
    assert response.json()["client_id"] == stack.secrets["DEMO_CLIENT_ID"]
    assert relay.answered == [(MEDIA_TYPE, MEDIA_TYPE)]


@pytest.mark.local_stack
def test_a_key_rotated_at_the_as_verifies_once_the_api_fetches_the_keys_again(client, stack):
    auth, api = stack.servers[0], stack.servers[1]
    every_worker_answers(api, client)  # each has the AS's current key
    before = kid_of(introspect(stack, client.client_credentials_token(), MEDIA_TYPE).text)
    previous = dict(auth.env)
    # As `make env --rotate-oidc-key` does: a new key signs, the old one stays published.
    inactive = ",".join(
        filter(None, [auth.env["OIDC_RSA_PRIVATE_KEY"], auth.env.get("OIDC_RSA_PRIVATE_KEYS_INACTIVE")])
    )
    auth.env.update(OIDC_RSA_PRIVATE_KEY=signing_key(), OIDC_RSA_PRIVATE_KEYS_INACTIVE=inactive)
    auth.stop()
    auth.start()
    try:
        assert kid_of(introspect(stack, client.client_credentials_token(), MEDIA_TYPE).text) != before

        # Each worker meets the new kid on its own and fetches the keys again: 503 until it may, then 200.
        every_worker_answers(api, client, 503)
    finally:
        auth.env.clear()
        auth.env.update(previous)
        auth.stop()
        auth.start()


# A fake AS: each fault of a signed answer.


@pytest.fixture(scope="module")
def fake_as(stack, module_resource_server):
    """A fake AS that signs, and one API asking it for signed answers: (fake, API)."""
    # The first API's client_id, in either mode (tests/stack.py names it in token mode).
    with FakeAuthorizationServer("signed", audience=stack.secrets["OAUTH_RS_CLIENT_ID"]) as fake:
        server = module_resource_server(
            RESOURCE_SERVER_INTROSPECTION_URL=fake.url, RESOURCE_SERVER_INTROSPECTION_SIGNED="true"
        )
        yield fake, server


def me_with_a_new_token(fake_as, fault: str | None, token: str | None = None) -> requests.Response:
    fake, server = fake_as
    fake.fault = fault
    calls = fake.calls
    try:
        response = requests.get(f"{server.url}/api/me/", headers=bearer(token or secrets.token_urlsafe(32)), timeout=15)
    finally:
        fake.fault = None
    assert fake.calls == calls + 1  # introspected, not answered from a cache
    assert fake.answered[-1][0] == MEDIA_TYPE  # the API asked for a signed answer
    return response


def test_a_genuine_signed_answer_of_the_fake_is_accepted(fake_as):
    response = me_with_a_new_token(fake_as, None)

    assert response.status_code == 200, response.text
    assert response.json()["sub"] == INTROSPECTED["sub"]


@pytest.mark.parametrize("fault", [fault for fault in FAULTS if fault])
def test_a_signed_answer_with_a_fault_is_503(fake_as, fault):
    _, server = fake_as
    token, logged_before = secrets.token_urlsafe(32), len(server.log.read_text())

    assert_unavailable(me_with_a_new_token(fake_as, fault, token))

    assert token not in server.log.read_text()[logged_before:]


# What the documentation says of it.


def test_the_cost_the_documentation_cites_is_the_one_make_bench_measured():
    """README and docs/resource-server.md give the cost of a signed cold introspection against a plain
    one: the figure of the last make bench (docs/benchmarks.json), whose report has its section and target."""
    measured = json.loads((ROOT / "docs" / "benchmarks.json").read_text())["signed_introspection"]["ratio"]
    benchmarks = (ROOT / "docs" / "benchmarks.md").read_text()

    assert "## 10. Signed introspection answers" in benchmarks
    assert "signed cold introspection costs ≤ 1.3 × a plain one" in benchmarks.partition("## Targets")[2]
    for page in ("README.md", "docs/resource-server.md"):
        text = " ".join((ROOT / page).read_text().split())
        assert f"{measured:.2f} ×" in text, page
        assert "section 10" in text, page


def test_the_variables_table_says_signed_answers_must_carry_the_issuer():
    """A signed answer whose iss is not RESOURCE_SERVER_ISSUER is refused (docs/resource-server.md), as a
    revocation notice is: an API whose RESOURCE_SERVER_ISSUER is not the AS's issuer answers every token 503."""
    lines = (ROOT / "README.md").read_text().splitlines()
    row = next(line for line in lines if line.startswith("| `RESOURCE_SERVER_ISSUER`"))

    assert "introspection" in row or "signed answers" in row, row
