"""Revocation notices: each API refuses a revoked token within seconds, on every worker, though it caches for 60 s.

The AS pushes a Security Event Token (RFC 8417) to each API's registered endpoint
(RFC 8935); the API hands it to all its workers through its token cache. Each test
caches one token at both APIs, on every worker of each (as shipped: two), makes
one event of issue 11 happen at the AS, and then sees every worker refuse
the token within PUSHED_WITHIN seconds: far inside the caching window, so only the
notice explains it. Locally each worker is told apart by the connection it served
(/proc, tests/stack.py); under Compose the proxy spreads the calls.

The channel is hostile: notices minted here, forged, unsigned, replayed or stale,
are refused with RFC 8935's ``err`` and evict nothing: the cached token is served
again without an introspection (the AS logs each one with the request id of the
API's request that made it: tests/test_request_ids.py).
"""

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
from diskcache import Disk, FanoutCache, JSONDisk
from diskcache.core import UNKNOWN
from jwcrypto import jwk, jwt

from .log_records import access
from .oauth import Client, bearer
from .stack import Server, free_port
from .test_deactivated_user import CREATE_USER, DELETE_USER
from .test_token_cache import across_every_worker, me_on_a_connection_of_its_own

# The caching window is 60 s: a refusal this soon is the notice's doing.
PUSHED_WITHIN = 5
AFTERWARDS = 20
# No resource (RFC 8707): the AS shows such a token to every API, and each API's scope opens it.
BOTH_APIS = "read team:read"
# The AS's retry schedule (RFC 8935 §2.3): 6 attempts, 0.25 + 0.5 + 1 + 2 + 4 s apart.
RETRIES_FOR = 7.75

SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
STREAM_UPDATED = "https://schemas.openid.net/secevent/ssf/event-type/stream-updated"

# Each change prints when it was made (committed: the notices go out from then on).
DEACTIVATE = """
import time
from django.contrib.auth import get_user_model
user = get_user_model().objects.get(username="{username}")
user.is_active = False
user.save()
print(time.time())
"""
# As the seed and register_resource_server store a client (authorization.registration).
SAVE_CLIENT = """
from oauth2_provider.models import get_application_model
from authorization import registration
Application = get_application_model()
registration.save_client(
    "{client_id}",
    "{secret}",
    name="Revocation notices test client",
    client_type=Application.CLIENT_CONFIDENTIAL,
    authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
)
"""
ROTATE_SECRET = """
import time
from authorization import registration
registration.save_client("{client_id}", "{secret}")
print(time.time())
"""
REMOVE_CLIENT = """
import time
from oauth2_provider.models import get_application_model
for application in get_application_model().objects.filter(client_id="{client_id}"):
    application.delete()
print(time.time())
"""


@dataclass
class Api:
    name: str
    url: str
    server: Server | None  # locally: its processes, to tell its workers apart

    def answers(self, token: str, count: int) -> list[tuple[int, dict, int | None]]:
        """``count`` answers to GET /api/me/ or more, until every worker has given one (locally)."""
        if self.server is not None:
            return across_every_worker(self.server, token, count)
        return [self.answer(token) for _ in range(count)]

    def answer(self, token: str) -> tuple[int, dict, int | None]:
        """One answer, and the worker that gave it (None under Compose)."""
        if self.server is not None:
            return me_on_a_connection_of_its_own(self.server, token)
        response = requests.get(f"{self.url}/api/me/", headers=bearer(token), timeout=15)
        return response.status_code, response.json(), None

    def workers(self) -> set[int | None]:
        return set(self.server.workers()) if self.server is not None else {None}


@pytest.fixture
def first_api(stack) -> Api:
    return Api("first", stack.resource_url, server_at(stack, stack.resource_url))


@pytest.fixture
def apis(stack, team_api, first_api) -> list[Api]:
    return [first_api, Api("team", team_api, server_at(stack, team_api))]


def server_at(stack, url: str) -> Server | None:
    return next((server for server in stack.servers if server.url == url), None)


def shell(stack, script: str) -> str:
    return stack.auth_manage("shell", "-v", "0", "-c", script)


@contextlib.contextmanager
def own_user(stack):
    """A Client signed in as a user of its own (the stack is shared by the whole session)."""
    username, password = f"pushed-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    shell(stack, CREATE_USER.format(username=username, password=password))
    user = Client(stack)
    user.secrets = {**stack.secrets, "DEMO_USERNAME": username, "DEMO_PASSWORD": password}
    try:
        yield user
    finally:
        shell(stack, DELETE_USER.format(username=username))


def changed(stack, script: str) -> float:
    """Run a change of DEACTIVATE, ROTATE_SECRET or REMOVE_CLIENT: when it was made (time.time())."""
    return float(shell(stack, script).split()[-1])


def deactivate(user: Client) -> float:
    """As the admin does: the user saved inactive (a queryset update() sends no signal, hence no notice)."""
    return changed(user.stack, DEACTIVATE.format(username=user.secrets["DEMO_USERNAME"]))


def rotate_secret(stack, client_id: str, secret: str) -> float:
    return changed(stack, ROTATE_SECRET.format(client_id=client_id, secret=secret))


def remove_client(stack, client_id: str) -> float:
    return changed(stack, REMOVE_CLIENT.format(client_id=client_id))


@contextlib.contextmanager
def own_client(stack):
    """A confidential client-credentials client of its own: (client_id, secret)."""
    client_id, secret = f"pushed-{secrets.token_hex(4)}", secrets.token_urlsafe(32)
    shell(stack, SAVE_CLIENT.format(client_id=client_id, secret=secret))
    try:
        yield client_id, secret
    finally:
        remove_client(stack, client_id)


def token_of(client: Client, credentials: tuple[str, str]) -> str:
    response = client.client_credentials(BOTH_APIS, client=credentials)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def revoke_as_client(stack, token: str, credentials: tuple[str, str] | None = None) -> requests.Response:
    """RFC 7009, authenticated as the confidential client the token was issued to (the demo machine client)."""
    credentials = credentials or (stack.secrets["DEMO_CLIENT_ID"], stack.secrets["DEMO_CLIENT_SECRET"])
    return requests.post(
        f"{stack.auth_url}/o/revoke_token/",
        data={"token": token, "token_type_hint": "access_token"},
        auth=credentials,
        timeout=10,
    )


def cache_everywhere(apis: list[Api], token: str) -> None:
    for api in apis:
        answers = api.answers(token, 10)
        assert [status for status, _, _ in answers] == [200] * len(answers), (api.name, answers)


def refusal(api: Api, token: str, since: float, status: int, within: float = PUSHED_WITHIN) -> dict:
    """Seconds from ``since`` until each worker answered ``status``; then AFTERWARDS answers, all ``status``.

    ``since`` is a time.time(): a change made in another process says when it was made.
    A worker that refused once never accepts again.
    """
    workers, refused = api.workers(), {}
    while set(refused) != workers:
        answered, body, worker = api.answer(token)
        elapsed = time.time() - since
        assert elapsed < within, f"{api.name}: workers {workers - set(refused)} still accept the token"
        if answered == status:
            refused.setdefault(worker, elapsed)
        else:
            assert answered == 200 and worker not in refused, (api.name, worker, answered, body)
    afterwards = [api.answer(token) for _ in range(AFTERWARDS)]
    assert [answered for answered, _, _ in afterwards] == [status] * AFTERWARDS, (api.name, afterwards)
    for _, body, _ in afterwards:
        assert body["error"] == {401: "invalid_token", 503: "temporarily_unavailable"}[status], body
    return refused


def accepted_still(api: Api, token: str) -> None:
    answers = [api.answer(token) for _ in range(AFTERWARDS)]
    assert [status for status, _, _ in answers] == [200] * AFTERWARDS, (api.name, answers)


def assert_pushed(apis: list[Api], token: str, event, name: str, statuses: dict | None = None) -> None:
    """``token`` cached everywhere, then ``event()``: each API answers its status (401 unless told) within seconds.

    The seconds count from when ``event()`` says the change was made, else from its return.
    """
    statuses = {api.name: 401 for api in apis} | (statuses or {})
    cache_everywhere(apis, token)

    done = event() or time.time()

    def observe(api: Api):
        if statuses[api.name] == 200:
            return accepted_still(api, token)
        return refusal(api, token, done, statuses[api.name])

    with ThreadPoolExecutor(len(apis)) as pool:
        timings = dict(zip([api.name for api in apis], pool.map(observe, apis), strict=True))
    for api, refused in timings.items():
        for worker, seconds in (refused or {}).items():
            print(f"pushed: {name}: {api} API, worker {worker}: refused {seconds:.3f} s after the change")


# Each event of issue 11.


def test_an_access_token_revoked_rfc_7009_is_refused_by_every_api_and_worker_within_seconds(client, stack, apis):
    token = client.client_credentials_token(scope=BOTH_APIS)

    def event():
        revoked = revoke_as_client(stack, token)
        assert revoked.status_code == 200, revoked.text
        assert revoked.content == b""

    assert_pushed(apis, token, event, "access token revoked")


def test_an_access_token_whose_refresh_token_is_revoked_is_refused_everywhere_within_seconds(client, apis):
    tokens = client.authorization_code_tokens(scope=BOTH_APIS)

    def event():
        revoked = client.revoke(tokens["refresh_token"], hint="refresh_token")
        assert revoked.status_code == 200, revoked.text

    assert_pushed(apis, tokens["access_token"], event, "refresh token revoked")


def test_a_replayed_refresh_token_revokes_its_family_and_every_api_refuses_the_latest_access_token(client, apis):
    first = client.authorization_code_tokens(scope=BOTH_APIS)
    refreshed = client.refresh(first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    latest = refreshed.json()["access_token"]

    def event():
        replayed = client.refresh(first["refresh_token"])
        assert replayed.status_code == 400, replayed.text
        assert replayed.json()["error"] == "invalid_grant"

    assert_pushed(apis, latest, event, "refresh token replayed")


def test_a_deactivated_users_token_is_refused_everywhere_within_seconds(stack, apis):
    with own_user(stack) as user:
        token = user.authorization_code_tokens(scope=BOTH_APIS)["access_token"]

        assert_pushed(apis, token, lambda: deactivate(user), "user deactivated")


def test_a_removed_clients_token_is_refused_everywhere_within_seconds(client, stack, apis):
    with own_client(stack) as (client_id, secret):
        token = token_of(client, (client_id, secret))

        assert_pushed(apis, token, lambda: remove_client(stack, client_id), "client removed")
        refused = client.client_credentials(BOTH_APIS, client=(client_id, secret))
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_client"


def test_a_token_of_a_client_whose_secret_is_rotated_is_refused_everywhere_within_seconds(client, stack, apis):
    with own_client(stack) as (client_id, secret):
        token = token_of(client, (client_id, secret))
        new_secret = secrets.token_urlsafe(32)

        assert_pushed(apis, token, lambda: rotate_secret(stack, client_id, new_secret), "client secret rotated")
        # The old secret may have leaked: it no longer works; the new one does.
        assert client.client_credentials(BOTH_APIS, client=(client_id, secret)).status_code == 401
        assert client.api("/api/me/", token_of(client, (client_id, new_secret))).status_code == 200


def test_a_disabled_api_stops_accepting_its_cached_tokens_within_seconds_and_the_other_api_is_unaffected(
    client, stack, apis
):
    token = client.client_credentials_token(scope=BOTH_APIS)
    team_client = stack.secrets["OAUTH_RS_TEAM_CLIENT_ID"]
    team = apis[1]

    def event():
        said = stack.auth_manage("register_resource_server", "--client-id", team_client, "--disable")
        assert "# disabled" in said, said

    try:
        # Cut off from introspection, the team API can check no token: 503, not its cached 200.
        assert_pushed(apis, token, event, "the team API disabled", {"first": 200, "team": 503})
    finally:
        said = stack.auth_manage("register_resource_server", "--client-id", team_client, "--enable")
        assert "# disabled" not in said, said

    deadline = time.monotonic() + PUSHED_WITHIN
    while (answered := team.answer(token))[0] != 200:
        assert answered[0] == 503 and time.monotonic() < deadline, answered
    accepted_still(team, token)


# Lost notices: an API down when its notice is sent, an endpoint that never answers.


def as_log(stack) -> str:
    return stack.servers[0].log.read_text()


@pytest.mark.local_stack
def test_an_api_down_when_a_token_is_revoked_gets_the_notice_from_a_retry_once_back(client, stack, first_api):
    token = client.client_credentials_token(scope="read")
    cache_everywhere([first_api], token)
    logged_before = len(as_log(stack))

    first_api.server.stop()
    revoked = revoke_as_client(stack, token)
    revoked_at = time.time()
    assert revoked.status_code == 200, revoked.text
    first_api.server.start()  # its token cache, a folder (Redis under Compose), still holds the answer
    back_after = time.time() - revoked_at
    assert back_after < RETRIES_FOR - 1, f"back after {back_after:.1f} s: too late for the AS's last retry"

    refused = refusal(first_api, token, revoked_at, 401, within=RETRIES_FOR + 1)

    print(f"pushed: retried after a restart ({back_after:.1f} s down): refused after {max(refused.values()):.3f} s")
    # The first attempt found nothing listening; a later one delivered that same notice.
    audience = re.escape(stack.resource)
    failed = re.search(rf"security event (\w+) to {audience}: attempt 1 of 6 failed", as_log(stack)[logged_before:])
    assert failed, as_log(stack)[logged_before:]
    delivered = rf"security event {failed[1]} \(session-revoked\) delivered to {audience}"
    deadline = time.monotonic() + PUSHED_WITHIN
    while not re.search(delivered, as_log(stack)[logged_before:]):
        assert time.monotonic() < deadline, as_log(stack)[logged_before:]
        time.sleep(0.1)
    assert "given up" not in as_log(stack)[logged_before:]


@pytest.mark.local_stack
def test_the_as_gives_up_on_an_api_that_never_answers_says_so_and_delays_no_other_api(client, stack, first_api):
    nowhere = free_port()  # nothing listens there
    client_id = f"unreachable-{secrets.token_hex(4)}"
    stack.auth_manage(
        "register_resource_server",
        "--client-id",
        client_id,
        "--resource",
        f"http://127.0.0.1:{nowhere}/",
        "--scopes",
        f"{client_id}:read",
        "--events-endpoint",
        f"http://127.0.0.1:{nowhere}/security-events/",
    )
    try:
        token = client.client_credentials_token(scope="read")  # without resource: shown to that API too
        cache_everywhere([first_api], token)
        logged_before = len(as_log(stack))

        revoked = revoke_as_client(stack, token)
        revoked_at = time.time()
        assert revoked.status_code == 200, revoked.text

        refusal(first_api, token, revoked_at, 401)
        while not (given_up := re.findall(r".*given up after 6 attempts.*", as_log(stack)[logged_before:])):
            assert time.time() - revoked_at < RETRIES_FOR + 10, as_log(stack)[logged_before:]
            time.sleep(0.2)
        gave_up_after = time.time() - revoked_at
    finally:
        # No endpoint first: removing the registration then sends nothing that would wait for retries.
        stack.auth_manage("register_resource_server", "--client-id", client_id, "--events-endpoint", "")
        stack.auth_manage("register_resource_server", "--client-id", client_id, "--remove")

    print(f"pushed: gave up on an API that never answers after {gave_up_after:.1f} s")
    assert gave_up_after > RETRIES_FOR - 0.5  # on the schedule, not at once
    assert len(given_up) == 1, given_up
    assert str(nowhere) in given_up[0] or client_id in given_up[0], given_up
    assert "caching window" in given_up[0]
    assert token not in as_log(stack)


# A hostile channel: notices that do not come from the AS, or not for this API, or not now.


def encoded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Notices:
    """Security Event Tokens for the first API: its own (signed with the AS's key), or not quite."""

    key: jwk.JWK
    issuer: str
    audience: str
    endpoint: str

    def notice(self, token: str, signer: str = "AS", header: dict | None = None, age: int = 0, **claims) -> str:
        """A session-revoked notice for ``token`` as the AS sends it, or with changes.

        ``signer``: "AS" (RS256, the AS's key), "foreign" (RS256, another key under
        the AS's kid), "none" (unsigned), or "HS256" keyed with the AS's public key:
        the algorithm confusion of a verifier that trusts the header's ``alg``.
        """
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(time.time()) - age,
            "jti": uuid.uuid4().hex,
            "sub_id": {"format": "opaque", "id": hashlib.sha256(token.encode()).hexdigest()},
            "events": {SESSION_REVOKED: {}},
            **claims,
        }
        header = {"alg": "RS256", "typ": "secevent+jwt", "kid": self.key.thumbprint(), **(header or {})}
        if signer in ("AS", "foreign"):
            signed = jwt.JWT(header=header, claims=claims)
            signed.make_signed_token(self.key if signer == "AS" else jwk.JWK.generate(kty="RSA", size=2048))
            return signed.serialize()
        header["alg"] = signer
        signing_input = f"{encoded(json.dumps(header).encode())}.{encoded(json.dumps(claims).encode())}"
        if signer == "none":
            return f"{signing_input}."
        secret = self.key.export_to_pem(private_key=False)
        return f"{signing_input}.{encoded(hmac.digest(secret, signing_input.encode(), 'sha256'))}"

    def push(self, body: str) -> requests.Response:
        headers = {"Content-Type": "application/secevent+jwt", "Accept": "application/json"}
        return requests.post(self.endpoint, data=body.encode(), headers=headers, timeout=15)


def as_signing_key(stack) -> jwk.JWK:
    """OIDC_RSA_PRIVATE_KEY: the local AS's, or under Compose the one of the .env file the stack runs with."""
    if stack.servers:
        value = stack.servers[0].env["OIDC_RSA_PRIVATE_KEY"]
    else:
        from shared.dotenv import values_of

        with open(os.environ["E2E_ENV_FILE"]) as dotenv:
            value = values_of(dotenv.read())["OIDC_RSA_PRIVATE_KEY"]
    return jwk.JWK.from_pem(base64.b64decode(value))


@pytest.fixture
def notices(stack) -> Notices:
    metadata = requests.get(f"{stack.auth_url}/.well-known/oauth-authorization-server", timeout=15)
    assert metadata.status_code == 200
    endpoint = f"{stack.resource_url}/security-events/"
    return Notices(as_signing_key(stack), metadata.json()["issuer"], stack.resource, endpoint)


def introspections_for(stack, request_id: str) -> list[dict]:
    return access(stack.logs(), "POST", "/o/introspect/", request_id=request_id)


def introspected(stack, answer: requests.Response) -> bool:
    """Whether the first API introspected to give ``answer`` (the AS logs the call with the answer's request id).

    A control call that must introspect (a token nobody has) follows it: once the
    AS's line for that one is there, so is any for ``answer`` (Docker collects logs late).
    """
    control = requests.get(f"{stack.resource_url}/api/me/", headers=bearer(secrets.token_urlsafe(32)), timeout=15)
    assert control.status_code == 401
    deadline = time.monotonic() + 10
    while not introspections_for(stack, control.headers["X-Request-ID"]):
        assert time.monotonic() < deadline, "the AS never logged the control call's introspection"
        time.sleep(0.1)
    return bool(introspections_for(stack, answer.headers["X-Request-ID"]))


@pytest.fixture
def cached(client) -> str:
    """A token the first API has introspected and holds."""
    token = client.client_credentials_token(scope="read")
    assert client.api("/api/me/", token).status_code == 200
    return token


def assert_served_from_cache(stack, client, token: str, answers: int = 3) -> None:
    """A few answers in a row, none introspected.

    Each check takes longer than a revocation takes to reach the API's other
    workers (they read the log every 0.1 s): an eviction would show by the last.
    """
    for _ in range(answers):
        answer = client.api("/api/me/", token)
        assert answer.status_code == 200, answer.text
        assert not introspected(stack, answer), "the notice was refused, but the API forgot the token's answer"


def assert_refused(response: requests.Response, err: str) -> None:
    """RFC 8935 §2.4: 400, a JSON object naming the error and describing it."""
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["err"] == err, body
    assert isinstance(body["description"], str) and body["description"], body


WILDCARD = {"format": "opaque", "id": "*"}
# kind: (how the notice differs from the AS's, the error it gets).
HOSTILE = {
    "forged": ({"signer": "foreign"}, "invalid_key"),
    "unsigned": ({"signer": "none"}, "invalid_key"),
    "HS256 keyed with the public key": ({"signer": "HS256"}, "invalid_key"),
    "typ JWT, not a SET": ({"header": {"typ": "JWT"}}, "invalid_request"),
    "another issuer": ({"iss": "https://as.attacker.example"}, "invalid_issuer"),
    "another API's": ({"aud": "https://api.attacker.example/"}, "invalid_audience"),
    "stale": ({"age": 3600}, "invalid_request"),
    "from the future": ({"age": -3600}, "invalid_request"),
    # Signed by the AS, yet naming every token, or every API: no such subject exists.
    "a wildcard token": ({"sub_id": WILDCARD}, "invalid_request"),
    "a wildcard API": ({"sub_id": WILDCARD, "events": {STREAM_UPDATED: {"status": "disabled"}}}, "invalid_request"),
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_notice_is_refused_with_its_error_and_evicts_nothing(stack, client, notices, cached, kind):
    changes, err = HOSTILE[kind]

    assert_refused(notices.push(notices.notice(cached, **changes)), err)

    assert_served_from_cache(stack, client, cached)


def test_a_notice_under_a_kid_the_as_does_not_publish_is_refused_or_deferred_and_evicts_nothing(
    stack, client, notices, cached
):
    # An unknown kid makes a worker fetch the AS's JWKS again, at most once every few
    # seconds: after a fetch it is refused; between fetches it is 503, so that the AS
    # retries a notice signed under a key it has just rotated to.
    answer = notices.push(notices.notice(cached, header={"kid": "no-such-key"}))

    if answer.status_code == 503:
        assert answer.json()["error"] == "temporarily_unavailable", answer.text
        assert int(answer.headers["Retry-After"]) > 0
    else:
        assert_refused(answer, "invalid_key")
    assert_served_from_cache(stack, client, cached)


def test_a_replayed_notice_is_refused_and_evicts_nothing(stack, client, notices, cached):
    # About a token nobody holds: the first delivery evicts nothing either.
    notice = notices.notice(secrets.token_urlsafe(32))
    delivered = notices.push(notice)
    assert delivered.status_code == 202, delivered.text
    assert delivered.content == b""

    assert_refused(notices.push(notice), "invalid_request")

    assert_served_from_cache(stack, client, cached)


def test_a_notice_signed_by_the_as_is_applied_and_the_token_introspected_again(stack, client, notices, cached):
    # What the hostile notices above would have done: the cached answer is distrusted,
    # so the API asks the AS again (which still says active: this notice is the test's own).
    delivered = notices.push(notices.notice(cached))
    assert delivered.status_code == 202, delivered.text

    # The worker that received it forgot the answer at once, the other one within its next read of the log.
    deadline = time.time() + PUSHED_WITHIN
    while not introspected(stack, answer := client.api("/api/me/", cached)):
        assert answer.status_code == 200, answer.text
        assert time.time() < deadline, "a notice signed by the AS evicted nothing"
    assert answer.status_code == 200, answer.text


# The revocation log in the API's token cache, as Django's key function (KEY_PREFIX "", VERSION 1) names it.
COUNTER = ":1:introspection-revocations"
ENTRY = ":1:introspection-revocation:"


class CounterDisk(JSONDisk):
    """Keys as the RS's disk writes them; an int (the log's counter) kept as an SQLite integer, as it does."""

    def store(self, value, read, key=UNKNOWN):
        if type(value) is int:
            return Disk.store(self, value, read, key=key)
        return super().store(value, read, key=key)

    def fetch(self, mode, filename, value, read):
        return value if type(value) is int else super().fetch(mode, filename, value, read)


def refused_everywhere(api, token: str, seconds: float = 15) -> None:
    """Every worker of ``api`` has applied the notice: 20 answers in a row are 401."""
    deadline = time.monotonic() + seconds
    while [status for status, _, _ in (api.answer(token) for _ in range(20))] != [401] * 20:
        assert time.monotonic() < deadline, "the notice was not applied"


@pytest.mark.local_stack
def test_a_restarted_api_still_refuses_a_deactivated_users_cached_token_past_a_lost_log_entry(stack, first_api):
    with own_user(stack) as user:
        token = user.authorization_code_tokens(scope=BOTH_APIS)["access_token"]
        cache_everywhere([first_api], token)
        deactivate(user)
        refused_everywhere(first_api, token)

        # A later notice's publish() counted its entry, then its set() failed (a token-cache hiccup):
        # the receiver answered 503 and the AS's retry was logged under the next number.
        log = FanoutCache(first_api.server.env["RS_CACHE_DIR"], disk=CounterDisk)
        hole = log.incr(COUNTER)
        try:
            # A restart (a deploy, gunicorn recycling a worker): the new workers read the log back
            # from the counter and stop at the missing entry, before the user's revocation.
            first_api.server.stop()
            first_api.server.start()

            answers = [first_api.answer(token) for _ in range(5)]
            # The cached answer, asked before the user was deactivated, is trusted again: 200.
            assert [status for status, _, _ in answers] == [401] * 5, answers
        finally:
            revoked_nothing = {"kind": "token", "value": "0" * 64, "received": time.time()}
            log.set(ENTRY + str(hole), revoked_nothing, expire=300)  # no hole left for later tests
