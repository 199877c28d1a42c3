"""The resource server's series move by exactly what known traffic should cause, under its two workers.

Each test scrapes the first API's metrics endpoint (the gunicorn master's sum
over its workers, tests/metrics.py), sends traffic whose effect is known, and
scrapes again. A worker's local cache layer is its own: which worker serves
which request is the kernel's choice, so the cache is checked through sums that
hold whatever the choice (each request looks in the local layer; each local miss
looks in the shared one), and locally through a token sent until both workers
have served it.
"""

import secrets
import time

import requests

from .metrics import Moved
from .oauth import bearer
from .test_revocation_push import revoke_as_client, server_at
from .test_token_cache import across_every_worker

INTROSPECTIONS = "resource_server_introspection_requests_total"
DURATIONS = "resource_server_introspection_duration_seconds_count"
CACHE = "resource_server_token_cache_requests_total"
REFUSALS = "resource_server_token_refusals_total"
NOTICES = "resource_server_revocation_notices_total"
LAG = "resource_server_revocation_notice_lag_seconds"
# The AS pushes a notice as it revokes; its retries are 7.75 s in all (tests/test_revocation_push.py).
NOTICE_WITHIN = 10


def me(stack, token: str) -> requests.Response:
    return requests.get(f"{stack.resource_url}/api/me/", headers=bearer(token), timeout=15)


def assert_introspected(moved: Moved, **outcomes: int) -> None:
    """Exactly ``outcomes`` (active, inactive, unavailable) introspections, and as many durations."""
    counts = {outcome: outcomes.get(outcome, 0) for outcome in ("active", "inactive", "unavailable")}
    assert {outcome: moved(INTROSPECTIONS, outcome=outcome) for outcome in counts} == counts
    assert {outcome: moved(DURATIONS, outcome=outcome) for outcome in counts} == counts


def cache_lookups(moved: Moved) -> dict[str, float]:
    return {
        f"{layer} {result}": moved(CACHE, layer=layer, result=result)
        for layer in ("local", "shared")
        for result in ("hit", "miss")
    }


def test_a_fresh_token_is_introspected_once_then_found_in_one_layer_or_the_other(client, stack):
    token = client.client_credentials_token()
    server = server_at(stack, stack.resource_url)
    moved = Moved(stack, "resource")

    if server is not None:  # locally: until each of the shipped two workers has served it
        statuses = [status for status, _, _ in across_every_worker(server, token, 5)]
        assert len(server.workers()) == 2
    else:
        statuses = [me(stack, token).status_code for _ in range(5)]
    moved.scrape()

    requests_sent = len(statuses)
    assert statuses == [200] * requests_sent
    assert_introspected(moved, active=1)
    lookups = cache_lookups(moved)
    assert lookups["local hit"] + lookups["local miss"] == requests_sent, lookups
    assert lookups["shared hit"] + lookups["shared miss"] == lookups["local miss"], lookups
    assert lookups["local hit"] + lookups["shared hit"] == requests_sent - 1, lookups
    assert lookups["shared miss"] == 1, lookups
    if server is not None:
        # The worker that did not introspect found the other's answer in the shared layer first.
        assert lookups["shared hit"] >= 1, lookups
    assert moved(REFUSALS) == 0
    print(f"metrics: a fresh token, {requests_sent} requests: {lookups}")


def test_unknown_tokens_are_introspected_inactive_and_refused_invalid_token(stack):
    moved = Moved(stack, "resource")

    statuses = [me(stack, secrets.token_urlsafe(32)).status_code for _ in range(3)]
    moved.scrape()

    assert statuses == [401] * 3
    assert_introspected(moved, inactive=3)
    assert cache_lookups(moved) == {"local hit": 0, "local miss": 3, "shared hit": 0, "shared miss": 3}
    assert (moved(REFUSALS), moved(REFUSALS, error="invalid_token")) == (3, 3)


def test_a_token_lacking_the_scope_is_refused_insufficient_scope(client, stack):
    writer = client.client_credentials_token(scope="write")
    moved = Moved(stack, "resource")

    response = me(stack, writer)  # /api/me/ needs read
    moved.scrape()

    assert response.status_code == 403
    assert_introspected(moved, active=1)
    assert (moved(REFUSALS), moved(REFUSALS, error="insufficient_scope")) == (1, 1)


def test_a_revocation_pushed_by_the_as_is_accepted_with_its_lag(client, stack):
    token = client.client_credentials_token()
    assert me(stack, token).status_code == 200
    moved = Moved(stack, "resource")

    revoked = revoke_as_client(stack, token)
    assert revoked.status_code == 200, revoked.text
    deadline = time.monotonic() + NOTICE_WITHIN
    while moved.scrape()(NOTICES, outcome="accepted") < 1:
        assert time.monotonic() < deadline, "no revocation notice accepted"
        time.sleep(0.1)
    # The worker that took the notice refuses the token at once; the other learns of it from
    # the revocation log within a moment (docs/revocation.md) and answers from its own layer
    # until then. Ask until refused: only that one request counts a refusal.
    while (refused := me(stack, token)).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    moved.scrape()

    assert refused.status_code == 401
    assert (moved(NOTICES), moved(NOTICES, outcome="accepted")) == (1, 1)
    assert moved(LAG + "_count") == 1
    # Pushed as the AS revoked it; the SET's iat is whole seconds, hence up to one more.
    assert 0 <= moved(LAG + "_sum") < 1 + NOTICE_WITHIN
    print(f"metrics: revocation notice lag {moved(LAG + '_sum'):.3f} s")
    assert_introspected(moved, inactive=1)  # the cached answer was distrusted: asked again
    assert (moved(REFUSALS), moved(REFUSALS, error="invalid_token")) == (1, 1)
