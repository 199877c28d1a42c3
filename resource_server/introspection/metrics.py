"""The resource server's Prometheus series (docs/operations.md, "Resource server series").

Module-level counters and histograms: under gunicorn, prometheus_client's
multiprocess mode (shared/metrics.py) keeps each worker's values in files of its
own, which the master's metrics endpoint sums. Every label takes its values from
the fixed sets below, never a token, a client_id or a path: each combination is a
series that Prometheus keeps. All of them exist from the start, at 0, so that a
rate() has a first value before the first event.
"""

import time

from prometheus_client import Counter, Histogram

# Introspection outcomes, and why an introspection gave no answer the RS can use (answered 503).
ACTIVE, INACTIVE, UNAVAILABLE = "active", "inactive", "unavailable"
TIMEOUT = "timeout"  # no answer within RESOURCE_SERVER_INTROSPECTION_TIMEOUT
CONNECTION = "connection"  # refused, reset, or the name does not resolve
STATUS = "status"  # an HTTP status other than 200
MALFORMED = "malformed"  # not an RFC 7662 answer
# RESOURCE_SERVER_INTROSPECTION_SIGNED (RFC 9701): why a signed answer was refused (signed_response.py).
MEDIA_TYPE = "media_type"  # not application/token-introspection+jwt: the AS does not sign, or a proxy changed it
SIGNATURE = "signature"  # the JWS fails one of jws.py's checks
CLAIMS = "claims"  # its iss, aud, iat or token_introspection are not those of an answer for this API, now
JWKS = "jwks"  # the AS's keys could not be fetched
UNAVAILABLE_REASONS = (TIMEOUT, CONNECTION, STATUS, MALFORMED, MEDIA_TYPE, SIGNATURE, CLAIMS, JWKS)

# The token cache's layers (cache.py), and what a request found in each.
LOCAL, SHARED = "local", "shared"
HIT, MISS = "hit", "miss"

# RFC 6750 §3.1's error codes (errors.py); a request without a token has none and is not counted.
REFUSAL_ERRORS = ("invalid_request", "invalid_token", "insufficient_scope")

# Revocation notices (security_events.py): refused with RFC 8935 §2.4's err, or not applied now (503, retried).
ACCEPTED, REFUSED = "accepted", "refused"
NOTICE_ERRORS = ("invalid_request", "invalid_key", "invalid_issuer", "invalid_audience")
CACHE = "token_cache"
NOTICE_REFUSAL_REASONS = (*NOTICE_ERRORS, JWKS, CACHE)

introspection_requests = Counter(
    "resource_server_introspection_requests",
    "Introspection calls to the authorization server, by outcome, and why one was unavailable.",
    ["outcome", "reason"],
)
introspection_duration = Histogram(
    "resource_server_introspection_duration_seconds",
    "Time from sending an introspection call to having its answer checked, by outcome.",
    ["outcome"],
    # A loopback or LAN call took 8 to 9 ms (make bench); the top is RESOURCE_SERVER_INTROSPECTION_TIMEOUT's default.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
token_cache_requests = Counter(
    "resource_server_token_cache_requests",
    "Token cache lookups of requests, by layer and result: the shared layer is asked when the local one misses.",
    ["layer", "result"],
)
token_refusals = Counter(
    "resource_server_token_refusals",
    "Requests refused with an RFC 6750 error code.",
    ["error"],
)
revocation_notices = Counter(
    "resource_server_revocation_notices",
    "Revocation notices (RFC 8935 pushes) accepted, or refused and why.",
    ["outcome", "reason"],
)
revocation_notice_lag = Histogram(
    "resource_server_revocation_notice_lag_seconds",
    "Time from a revocation notice's iat to its acceptance.",
    # iat is whole seconds; the AS retries a notice 0.25, 0.5, 1, 2 and 4 s apart, so 1, 2, 4 and 8 s
    # tell its attempts apart; RESOURCE_SERVER_EVENTS_MAX_AGE (120 s by default) refuses older notices.
    buckets=(0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, 300.0),
)

for outcome in (ACTIVE, INACTIVE):
    introspection_requests.labels(outcome, "")
for reason in UNAVAILABLE_REASONS:
    introspection_requests.labels(UNAVAILABLE, reason)
for outcome in (ACTIVE, INACTIVE, UNAVAILABLE):
    introspection_duration.labels(outcome)
for error in REFUSAL_ERRORS:
    token_refusals.labels(error)
revocation_notices.labels(ACCEPTED, "")
for reason in NOTICE_REFUSAL_REASONS:
    revocation_notices.labels(REFUSED, reason)

# The cache's counters, bound once: they count every request, and labels() would look each up again.
_local_hit, _local_miss = token_cache_requests.labels(LOCAL, HIT), token_cache_requests.labels(LOCAL, MISS)
_shared_hit, _shared_miss = token_cache_requests.labels(SHARED, HIT), token_cache_requests.labels(SHARED, MISS)


def introspected(started: float, claims: dict | None = None, reason: str = "") -> None:
    """One introspection call, begun at ``started`` (time.perf_counter()): its answer, or why there is none."""
    outcome = UNAVAILABLE if claims is None else ACTIVE if claims["active"] else INACTIVE
    introspection_requests.labels(outcome, reason).inc()
    introspection_duration.labels(outcome).observe(time.perf_counter() - started)


def token_cache_lookup(layer: str | None) -> None:
    """A request's lookup, answered by ``layer`` (LOCAL, SHARED or None): the local layer first, then the shared."""
    if layer == LOCAL:
        _local_hit.inc()
        return
    _local_miss.inc()
    (_shared_hit if layer == SHARED else _shared_miss).inc()


def refused(error: str) -> None:
    token_refusals.labels(error).inc()


def notice_accepted(iat: int) -> None:
    # An iat a little ahead of this clock is accepted (jws.CLOCK_SKEW_SECONDS): the clocks differ, the lag is 0.
    revocation_notices.labels(ACCEPTED, "").inc()
    revocation_notice_lag.observe(max(time.time() - iat, 0.0))


def notice_refused(reason: str) -> None:
    revocation_notices.labels(REFUSED, reason).inc()
