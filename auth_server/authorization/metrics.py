"""The authorization server's Prometheus series (docs/operations.md, "Authorization server series").

Counters only, each label bounded: the grant types oauthlib accepts, the
client_ids of registered APIs, and the fixed words below. Under gunicorn each
worker keeps its own copy in PROMETHEUS_MULTIPROC_DIR, and the master's metrics
endpoint adds them up (shared/gunicorn_conf.py).
"""

from prometheus_client import Counter

# The caller of an introspection request that did not authenticate as a registered API.
UNAUTHENTICATED = "-"
# Who revoked a token: the client at the RFC 7009 endpoint, or the issuer on its own
# (a replayed refresh token's family, RFC 9700 §4.14.2; a client's secret changed).
BY_CLIENT = "client"
BY_ISSUER = "issuer"
TOKEN_TYPES = ACCESS_TOKEN, REFRESH_TOKEN = ("access_token", "refresh_token")
DELIVERY_OUTCOMES = ("delivered", "retried", "given_up")

tokens_issued = Counter(
    "authorization_server_tokens_issued",
    "Access tokens issued, by grant type (implicit: at the authorization endpoint).",
    ["grant_type"],
)
introspection_requests = Counter(
    "authorization_server_introspection_requests",
    "RFC 7662 introspection requests, by calling API (client_id, or - when refused before it is known) and outcome.",
    ["caller", "outcome"],
)
revocations = Counter(
    "authorization_server_revocations",
    "Tokens revoked, by type and by whom: the client (RFC 7009) or the issuer itself.",
    ["token_type", "by"],
)
security_event_deliveries = Counter(
    "authorization_server_security_event_deliveries",
    "RFC 8935 revocation notices: delivered, attempts retried, and notices given up.",
    ["outcome"],
)
client_authentication_failures = Counter(
    "authorization_server_client_authentication_failures",
    "Failed client authentications (wrong or missing credentials) at the token, revocation and introspection "
    "endpoints.",
)
sign_in_failures = Counter(
    "authorization_server_sign_in_failures", "Failed sign-ins of users (django-axes counts them)."
)
sign_in_lockouts = Counter(
    "authorization_server_sign_in_lockouts", "Sign-in lockouts begun: a user locked out from an address (django-axes)."
)

# Every fixed combination from the start, so that rate() sees a series' first increase.
for token_type in TOKEN_TYPES:
    for by in (BY_CLIENT, BY_ISSUER):
        revocations.labels(token_type=token_type, by=by)
for outcome in DELIVERY_OUTCOMES:
    security_event_deliveries.labels(outcome=outcome)
