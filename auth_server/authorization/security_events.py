"""Which change at this issuer makes which Security Event Token, and for which API.

Each registered API with an events endpoint is told (RFC 8935 push, through
``authorization.set_push``) when a token it may hold in its cache stops being
good, so it stops trusting cached introspection answers instead of waiting out
its caching window (RFC 7662 §4). Event types are the OpenID Shared Signals
ones (CAEP, RISC, SSF); subjects are RFC 9493 identifiers, at the top level
(``sub_id``) as OpenID SSF 1.0 puts them.

Events are collected per transaction and sent once it commits: a rolled-back
change is never announced. A client or user event covers the token events of
the same commit (removing a client with 10,000 tokens is one notice per API).
"""

import atexit
import functools
import json
import logging
import threading
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from oauth2_provider.settings import oauth2_settings

from shared import request_id
from shared.secevent import ACCOUNT_DISABLED, CREDENTIAL_CHANGE, SESSION_REVOKED, STREAM_UPDATED, TYPE

from . import set_push, signing
from .introspection import shown_to
from .models import ResourceServer, Subject

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """Where one API receives its notices: its resource identifier is the SET's ``aud``."""

    resource: str
    endpoint: str


@dataclass
class Event:
    type: str
    sub_id: dict
    payload: dict = field(default_factory=dict)
    # The token's RFC 8707 audiences: a token event goes only to the APIs the token
    # is shown to (introspection.shown_to reads ``resource``); empty: every API.
    resource: list = field(default_factory=list)
    # Set for stream-updated: the one API told, registered or not by then.
    only_to: Target | None = None
    # ("client", pk) / ("user", pk): what a client or user event covers, and who owns a token.
    covers: tuple | None = None
    owners: frozenset = frozenset()
    issuer: str | None = None
    txn: str | None = None

    @property
    def name(self) -> str:
        return self.type.rsplit("/", 1)[-1]


# --- The issuer, as introspection answers name it ---

_served: ContextVar[Callable[[], str] | None] = ContextVar("served_issuer", default=None)


class RequestIssuer:
    """Middleware: while a request is served, events name the issuer derived from it, as DOT does."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        served = _served.set(functools.cache(lambda: oauth2_settings.oauth2_authorization_server_issuer(request)))
        try:
            return self.get_response(request)
        finally:
            _served.reset(served)


def issuer() -> str | None:
    """OAUTH_ISSUER when set, else the served request's; None outside a request without OAUTH_ISSUER."""
    if oauth2_settings.OIDC_ISS_ENDPOINT:
        return oauth2_settings.OIDC_ISS_ENDPOINT
    derived = _served.get()
    return derived() if derived is not None else None


# --- The events ---


def token_revoked(token) -> Event:
    owners = {("client", token.application_id), ("user", token.user_id)}
    return Event(
        SESSION_REVOKED,
        # RFC 9493 opaque: the token's SHA-256, DOT's token_checksum, the RS's cache key.
        {"format": "opaque", "id": token.token_checksum},
        resource=list(token.resource or []),
        owners=frozenset(owner for owner in owners if owner[1] is not None),
    )


def account_disabled(user) -> Event:
    # The subject's ``iss`` is the SET's, filled in when it is made.
    return Event(ACCOUNT_DISABLED, {"format": "iss_sub", "sub": str(Subject.of(user).value)}, covers=("user", user.pk))


def credential_changed(application, change_type: str) -> Event:
    return Event(
        CREDENTIAL_CHANGE,
        {"format": "opaque", "id": application.client_id},
        {"credential_type": "client_secret", "change_type": change_type},
        covers=("client", application.pk),
    )


def stream_disabled(api: ResourceServer) -> Event | None:
    """The notice that ``api`` (as stored) is cut off, or None when it has nowhere to receive it."""
    if not (api.events_endpoint and api.resource):
        return None
    return Event(
        STREAM_UPDATED,
        {"format": "opaque", "id": api.resource},
        {"status": "disabled"},
        only_to=Target(api.resource, api.events_endpoint),
    )


# --- Per-transaction outbox ---


class Outbox(threading.local):
    """This thread's committed events not sent yet, and the number of the last event recorded.

    Every event has its own on_commit callback, so Django discards those of a rolled
    back savepoint. The callback of the last event recorded sends the whole batch;
    should that event have been rolled back, the next event recorded, the end of
    the request or the end of the process sends what is left.
    """

    def __init__(self):
        self.last = 0
        self.committed: list[Event] = []

    def record(self, event: Event) -> None:
        if self.committed:  # a batch whose last event was rolled back
            self.send()
        event.issuer, event.txn = issuer(), request_id.current()
        self.last += 1
        transaction.on_commit(partial(self.commit, event, self.last))

    def commit(self, event: Event, number: int) -> None:
        self.committed.append(event)
        if number == self.last:
            self.send()

    def send(self, **kwargs) -> None:
        events, self.committed = self.committed, []
        if not events:
            return
        try:
            send(events)
        except Exception:
            # The change is committed: its notice failing must not fail the request
            # that made it. The APIs' caching window bounds what they miss.
            logger.exception("security events not sent (%s)", ", ".join(sorted({event.name for event in events})))


outbox = Outbox()
record = outbox.record
# Before set_push's drain, which atexit runs later (last registered, first run).
atexit.register(outbox.send)


def uncovered(events: list[Event]) -> list[Event]:
    """Without the token events a client or user event of the batch covers, nor repeats."""
    covered = {event.covers for event in events if event.covers}
    kept, seen = [], set()
    for event in events:
        key = (event.type, json.dumps(event.sub_id, sort_keys=True), event.only_to)
        if not (event.owners & covered) and key not in seen:
            seen.add(key)
            kept.append(event)
    return kept


def targets() -> list[ResourceServer]:
    """The enabled APIs that can receive notices."""
    apis = ResourceServer.objects.enabled().exclude(events_endpoint="")
    return list(apis.exclude(resource=None).exclude(resource=""))


def addressed(event: Event, apis: list[ResourceServer]) -> list[Target]:
    if event.only_to is not None:
        return [event.only_to]
    return [Target(api.resource, api.events_endpoint) for api in apis if shown_to(event, api)]


def claims(event: Event, target: Target) -> dict:
    sub_id = {**event.sub_id, "iss": event.issuer} if event.sub_id["format"] == "iss_sub" else event.sub_id
    data = {
        "iss": event.issuer,
        "aud": target.resource,
        "jti": uuid.uuid4().hex,
        "txn": event.txn,
        "sub_id": sub_id,
        "events": {event.type: event.payload},
    }
    return {key: value for key, value in data.items() if value is not None}


def send(events: list[Event]) -> None:
    apis = targets()
    unnamed = []
    for event in uncovered(events):
        recipients = addressed(event, apis)
        if recipients and event.issuer is None:
            unnamed.append(event.name)
            continue
        for target in recipients:
            made = claims(event, target)
            delivery = set_push.Delivery(target.endpoint, target.resource, made["jti"], event.name, partial(sign, made))
            set_push.push(delivery)
    if unnamed:
        logger.warning(
            "security events not sent (%s): OAUTH_ISSUER is empty and no request names this issuer; "
            "set OAUTH_ISSUER so that changes made outside a request reach the APIs",
            ", ".join(sorted(set(unnamed))),
        )


def sign(payload: dict) -> str:
    """The compact JWS of a SET (RFC 8417).

    ``iat`` is when it is signed, just before its first delivery attempt: a notice
    that waited in a queue is not stale on arrival.
    """
    return signing.sign(payload, TYPE)
