"""Limits on guessing passwords and client secrets, kept by django-axes.

Sign-in forms (``/accounts/login/``, ``/admin/login/``) go through axes'
authentication backend and middleware. Client authentication at the token,
revocation and introspection endpoints never reaches django.contrib.auth, so the
OAuth2 validator drives axes itself through ``ClientAttempt``: it checks the
lockout before a secret is compared, and reports each wrong secret as a failed
login of ``client:<client_id>``. A colon cannot occur in a Django username
(UnicodeUsernameValidator), so a client and a user never share a counter.

Failures count per (username or client, client address): whoever guesses locks
out their own address, never the resource server's.

Users' failed sign-ins and lockouts are counted (authorization.metrics); a
client's wrong secret is counted as a failed client authentication instead.
"""

import ipaddress
from urllib.parse import urlsplit

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_credentials, get_failure_limit
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest
from django.shortcuts import render
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from . import metrics

CLIENT_PREFIX = "client:"
USERNAME_LENGTH = AccessAttempt._meta.get_field("username").max_length


def retry_after() -> int:
    """Seconds until a lockout ends, at most: the cool-off after the failure that caused it."""
    return int(get_cool_off().total_seconds())


def is_address(value: str | None) -> bool:
    try:
        ipaddress.ip_address(value or "")
    except ValueError:
        return False
    return True


def client_address(request: HttpRequest) -> str | None:
    """The address of whoever sent ``request`` (axes' AXES_CLIENT_IP_CALLABLE).

    Behind AS_TRUSTED_PROXY_COUNT proxies, each of which appends the address it
    was called from to X-Forwarded-For, the client is the entry that many places
    from the right: entries further left are whatever the client chose to send.
    Without trusted proxies, or when the header is too short or not an address,
    it is the peer's address.
    """
    proxies = settings.AS_TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= proxies and is_address(forwarded[-proxies]):
            return forwarded[-proxies]
    peer = request.META.get("REMOTE_ADDR")
    return peer if is_address(peer) else None


def attempted_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """Whom an attempt was for (axes' AXES_USERNAME_CALLABLE), cut to the length axes stores.

    Django's AuthenticationForm hands authenticate() a username of any length;
    in axes' 255-character column PostgreSQL refused a longer one (a 500).
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    username = credentials.get(field) if credentials else request.POST.get(field)
    return username[:USERNAME_LENGTH] if isinstance(username, str) else username


def sign_in_locked_out(request, original_response=None, credentials=None):
    """The page a locked-out sign-in gets (axes' AXES_LOCKOUT_CALLABLE): RFC 6585 §4."""
    minutes = -(-retry_after() // 60)
    response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(retry_after())
    return response


class ClientLockedOut(OAuth2Error):
    """Too many wrong secrets for this client from this address (RFC 6585 §4).

    The error code stays ``invalid_client`` (RFC 6749 §5.2 has no other for a
    refused client); the status and Retry-After tell the client to back off.
    """

    error = "invalid_client"
    status_code = 429
    description = "Too many failed authentications of this client from this address. Try again later."

    @property
    def headers(self):
        return {"Retry-After": str(retry_after())}


class ClientAttempt:
    """One client authentication, as axes sees it."""

    def __init__(self, oauthlib_request, client_ids):
        # axes reads the address and user agent from META; the body (a client
        # secret, a token) is left out so it never lands in axes' records.
        self.request = HttpRequest()
        self.request.META = dict(oauthlib_request.headers)
        self.request.method = oauthlib_request.http_method
        self.request.path = self.request.path_info = urlsplit(oauthlib_request.uri).path
        self.credentials = [get_credentials(CLIENT_PREFIX + client_id) for client_id in sorted(client_ids)]

    def refuse_if_locked_out(self) -> None:
        if settings.AXES_ENABLED and not all(AxesProxyHandler.is_allowed(self.request, c) for c in self.credentials):
            # Not counted: an attempt during a lockout checks no secret, and the
            # resource server's own calls with the right one must not keep a lockout
            # going that a guesser at its address started.
            raise ClientLockedOut()

    def failed(self) -> None:
        for credentials in self.credentials:
            user_login_failed.send(sender=ClientAttempt, credentials=credentials, request=self.request)
        if getattr(self.request, "axes_locked_out", False):
            raise ClientLockedOut()


def sign_in_failed(sender, **kwargs):
    if sender is not ClientAttempt:
        metrics.sign_in_failures.inc()


def locked_out(sender, request, username, **kwargs):
    # axes sends this for every failure from the limit on (and, by default, counts
    # those made during a lockout too): a lockout begins at the one reaching the limit.
    if (username or "").startswith(CLIENT_PREFIX):
        return
    if getattr(request, "axes_failures_since_start", None) == get_failure_limit(request, request.axes_credentials):
        metrics.sign_in_lockouts.inc()


def connect() -> None:
    user_login_failed.connect(sign_in_failed, dispatch_uid="authorization.metrics.sign_in_failed")
    user_locked_out.connect(locked_out, dispatch_uid="authorization.metrics.locked_out")
