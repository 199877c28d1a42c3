"""The revocation window: RESOURCE_SERVER_TOKEN_CACHING_SECONDS and the cache every worker shares."""

import concurrent.futures
import http.client
import json
import secrets
import threading
import time

import pytest
import redis
import requests

from .fake_authorization_server import FakeAuthorizationServer
from .log_records import records
from .oauth import bearer

# The cache's rules are the API's own: how it asks the AS (its caller mode) changes none of them.
# Once, on the first stack (the one_stack marker).
pytestmark = pytest.mark.one_stack


def me(server, token):
    return requests.get(f"{server.url}/api/me/", headers=bearer(token), timeout=15)


def me_on_a_connection_of_its_own(server, token) -> tuple[int, dict, int]:
    """GET /api/me/: the status, the body, and the worker that served it."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    try:
        connection.request("GET", "/api/me/", headers=bearer(token))
        response = connection.getresponse()
        body = json.loads(response.read())
        return response.status, body, server.worker_serving(connection.sock.getsockname()[1])
    finally:
        connection.close()


def across_every_worker(server, token, count: int) -> list[tuple[int, dict, int]]:
    """``count`` requests, or more until every worker has served at least one.

    The kernel hands each new connection to one of the workers, so enough of
    them reach every worker; which one served each is read from /proc.
    """
    workers = set(server.workers())
    answers = []
    while len(answers) < count or {worker for _, _, worker in answers} != workers:
        assert len(answers) < 10 * count, f"some worker served none of {len(answers)} connections"
        answers.append(me_on_a_connection_of_its_own(server, token))
    return answers


def test_one_token_costs_one_introspection_whichever_worker_serves_it(client, stack, resource_server, relay):
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url)
    token = client.client_credentials_token()

    answers = across_every_worker(server, token, 30)

    assert len(server.workers()) == 2  # as shipped (WEB_CONCURRENCY unset in production: 2)
    assert [status for status, _, _ in answers] == [200] * len(answers)
    assert {body["client_id"] for _, body, _ in answers} == {stack.secrets["DEMO_CLIENT_ID"]}
    assert relay.calls == 1


def test_a_cached_token_keeps_working_on_every_worker_while_the_as_is_down(client, stack, resource_server):
    with FakeAuthorizationServer("relay", upstream=f"{stack.auth_url}/o/introspect/") as relay:
        server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url)
        token = client.client_credentials_token()
        assert me(server, token).status_code == 200
    # The AS (here, the relay in front of it) is gone: nothing listens there any more.

    answers = across_every_worker(server, token, 10)

    assert [status for status, _, _ in answers] == [200] * len(answers)
    assert {body["client_id"] for _, body, _ in answers} == {stack.secrets["DEMO_CLIENT_ID"]}
    assert relay.calls == 1


def test_revoked_token_is_refused_after_cache_ttl(client, resource_server, relay):
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RESOURCE_SERVER_TOKEN_CACHING_SECONDS="2")
    tokens = client.authorization_code_tokens(scope="read")
    token = tokens["access_token"]
    assert me(server, token).status_code == 200
    assert me(server, token).status_code == 200
    assert relay.calls == 1  # the second answer came from the cache

    assert client.revoke(token).status_code == 200
    assert me(server, token).status_code == 200  # still inside the revocation window
    time.sleep(2.5)

    response = me(server, token)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_zero_caching_introspects_every_request_and_tokens_still_work(client, resource_server, relay):
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RESOURCE_SERVER_TOKEN_CACHING_SECONDS="0")
    token = client.authorization_code_tokens(scope="read")["access_token"]

    assert [me(server, token).status_code for _ in range(3)] == [200, 200, 200]
    assert relay.calls == 3

    client.revoke(token)
    assert me(server, token).status_code == 401


def test_inactive_answers_are_introspected_again_unless_negative_caching_is_on(client, resource_server, relay):
    plain = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url)
    negative = resource_server(
        RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS="30"
    )
    unknown = secrets.token_urlsafe(32)

    assert [me(plain, unknown).status_code for _ in range(2)] == [401, 401]
    assert relay.calls == 2
    assert [me(negative, unknown).status_code for _ in range(2)] == [401, 401]
    assert relay.calls == 3


def test_redis_cache_is_used_and_its_outage_is_no_authentication_failure(client, resource_server, relay, redis_server):
    process, url = redis_server
    # A per-process layer that outlasts the test: what it holds is served throughout.
    server = resource_server(
        RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RS_CACHE_URL=url, RESOURCE_SERVER_LOCAL_CACHE_SECONDS="60"
    )
    known = client.client_credentials_token()
    assert {status for status, _, _ in across_every_worker(server, known, 4)} == {200}
    assert relay.calls == 1  # one introspection, shared by the workers through Redis

    process.terminate()
    process.wait(timeout=10)

    # Each worker keeps serving what its own layer holds: no Redis, no introspection.
    assert {status for status, _, _ in across_every_worker(server, known, 10)} == {200}
    assert relay.calls == 1
    # A token no worker has seen is introspected once by each worker, then held by it, not once per request.
    fresh = client.client_credentials_token()
    assert {status for status, _, _ in across_every_worker(server, fresh, 10)} == {200}
    assert relay.calls == 1 + len(server.workers())
    lines = [line for line in records(server.log.read_text()) if "token cache unavailable" in line["message"]]
    # Logged once per interval by each worker that met the outage, not per request: by the
    # cache, and by the thread that reads the revocation log (docs/revocation.md).
    for logger in ("introspection.cache", "introspection.revocations"):
        outage_lines = [line for line in lines if line["logger"] == logger]
        reporting_workers = {line["process"] for line in outage_lines}
        assert len(outage_lines) == len(reporting_workers) == len(server.workers()), outage_lines
        assert reporting_workers == set(server.workers())
    assert len(lines) == 2 * len(server.workers()), lines


def test_a_flush_of_the_shared_cache_reaches_every_worker_within_the_local_seconds(
    client, resource_server, relay, redis_server
):
    _, url = redis_server
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RS_CACHE_URL=url)  # local layer: 2 s
    token = client.authorization_code_tokens(scope="read")["access_token"]
    assert {status for status, _, _ in across_every_worker(server, token, 4)} == {200}
    assert client.revoke(token).status_code == 200

    # The operator flushes the shared cache: the revoked token's answer is gone from it,
    # and each worker's own copy ends within RESOURCE_SERVER_LOCAL_CACHE_SECONDS.
    assert redis.Redis.from_url(url).flushdb()
    time.sleep(2.5)

    answers = across_every_worker(server, token, 4)
    assert {status for status, _, _ in answers} == {401}
    assert {body["error"] for _, body, _ in answers} == {"invalid_token"}
    assert relay.calls == 1 + len(answers)  # inactive answers are not cached (negative caching off)


def burst(server, token, size: int = 16) -> list[tuple[int, dict, int]]:
    """``size`` requests with ``token`` at once, each on a connection of its own."""
    start = threading.Barrier(size)

    def call(_):
        start.wait(timeout=15)
        return me_on_a_connection_of_its_own(server, token)

    with concurrent.futures.ThreadPoolExecutor(size) as pool:
        return list(pool.map(call, range(size)))


def test_a_burst_of_requests_with_a_new_token_costs_one_introspection(client, stack, resource_server, relay):
    """Requests that all miss at once wait for one introspection: one per API, not one per thread or worker."""
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url)
    token = client.client_credentials_token()

    answers = burst(server, token)

    assert [status for status, _, _ in answers] == [200] * len(answers)
    assert {body["client_id"] for _, body, _ in answers} == {stack.secrets["DEMO_CLIENT_ID"]}
    assert len({worker for _, _, worker in answers}) == 2  # both workers took part
    assert relay.calls == 1


def test_replicas_sharing_redis_introspect_a_new_token_once(client, stack, resource_server, relay, redis_server):
    """Two servers of one API (same secret key, same Redis), each with its workers, meet a new token at once."""
    _, url = redis_server
    first = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RS_CACHE_URL=url)
    second = resource_server(
        RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RS_CACHE_URL=url, RS_SECRET_KEY=first.env["RS_SECRET_KEY"]
    )
    token = client.client_credentials_token()

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = [
            answer
            for replica in pool.map(lambda server: burst(server, token, 8), [first, second])
            for answer in replica
        ]

    assert [status for status, _, _ in answers] == [200] * len(answers)
    assert {body["client_id"] for _, body, _ in answers} == {stack.secrets["DEMO_CLIENT_ID"]}
    assert relay.calls == 1
