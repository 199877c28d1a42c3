"""Registering an API at this issuer: its confidential client, its resource identifier and its scopes.

One place for the rules, used by ``manage.py register_resource_server`` (an
operator registering an API; the secret is generated here) and by ``manage.py
seed`` (the example APIs, with secrets from the environment). Idempotent: what
is already as asked is left alone and reported unchanged.
"""

import secrets
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.models import get_application_model

from .hashers import check_client_secret
from .models import ResourceServer

Application = get_application_model()
CLIENT_ID_LENGTH = Application._meta.get_field("client_id").max_length
# What an API's client is: it authenticates to introspect, and may get an
# `introspection` token with the client credentials grant.
API_CLIENT = {
    "client_type": Application.CLIENT_CONFIDENTIAL,
    "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
}
# The client's fields that registering sets are checked; the rest it leaves as they are.
CLIENT_UNCHECKED = [field.name for field in Application._meta.fields if field.name not in {"name", *API_CLIENT}]


class RegistrationError(ValueError):
    """The registration cannot be made as asked; the message says why, in one line."""


@dataclass
class ClientOutcome:
    application: object
    created: bool
    changed: bool

    @property
    def summary(self) -> str:
        return "created" if self.created else "updated" if self.changed else "unchanged"


def save_client(client_id: str, secret: str | None, **fields) -> ClientOutcome:
    """Create or update a client with ``fields``; a changed ``secret`` is stored, hashed, in place of the old one.

    An unchanged secret still hashed with PBKDF2 moves to the client-secret hasher.
    """
    # A new client gets its secret as it is created: a second save replacing the
    # generated one would count as a rotation (authorization.signals).
    initial = {**fields, **({"client_secret": secret} if secret is not None else {})}
    application, created = Application.objects.get_or_create(client_id=client_id, defaults=initial)
    changed = created
    for name, value in fields.items():
        if getattr(application, name) != value:
            setattr(application, name, value)
            changed = True

    def store(value):
        nonlocal changed
        application.client_secret = value  # DOT hashes it on save, with CLIENT_SECRET_HASHER
        changed = True

    if secret is not None and not check_client_secret(secret, application.client_secret, setter=store):
        store(secret)
    if changed:
        application.save()
    return ClientOutcome(application, created, changed)


@dataclass
class Registration:
    """What registering did: the registration, and the new client secret when one was made."""

    api: ResourceServer
    client: ClientOutcome
    created: bool
    changes: list[str] = field(default_factory=list)
    secret: str | None = None

    @property
    def summary(self) -> str:
        if self.created:
            return "created"
        return f"updated ({', '.join(self.changes)})" if self.changes else "unchanged"

    def settings(self) -> list[str]:
        """The API's settings (resource_server's variable names), as lines of a .env file."""
        client_id = self.api.application.client_id
        lines = [
            f"RESOURCE_SERVER_RESOURCE={self.api.resource or ''}",
            f"RESOURCE_SERVER_SCOPES={self.api.scopes}",
        ]
        if self.secret is not None:
            lines.append(f"RESOURCE_SERVER_INTROSPECTION_CREDENTIALS={client_id}:{self.secret}")
        else:
            lines.append(
                f"# RESOURCE_SERVER_INTROSPECTION_CREDENTIALS: {client_id}:<its existing secret>, unchanged; "
                "--rotate-secret makes a new one and prints it once"
            )
        return lines


def check_client_id(client_id: str) -> None:
    if not client_id or len(client_id) > CLIENT_ID_LENGTH or any(c.isspace() or not c.isprintable() for c in client_id):
        raise RegistrationError(
            f"The client id {client_id!r} must be 1 to {CLIENT_ID_LENGTH} printable characters without spaces."
        )


def one_line(error: ValidationError) -> str:
    messages = error.message_dict.items() if hasattr(error, "error_dict") else [("", error.messages)]
    return " ".join(f"{name + ': ' if name != '__all__' and name else ''}{' '.join(texts)}" for name, texts in messages)


@transaction.atomic
def register(
    client_id: str,
    *,
    resource: str | None = None,
    scopes: str | None = None,
    name: str | None = None,
    enabled: bool | None = None,
    events_endpoint: str | None = None,
    secret: str | None = None,
    rotate_secret: bool = False,
) -> Registration:
    """Create or update the API whose client is ``client_id``.

    None leaves a value as it is (a new API gets no resource identifier, no
    scopes, its client id as name, no events endpoint, and is enabled; an empty
    ``events_endpoint`` clears it). ``secret`` sets the client's
    secret (the seed's, from the environment); otherwise a new client, or
    ``rotate_secret``, gets one generated here, returned once in ``secret``.
    """
    check_client_id(client_id)
    existing = Application.objects.filter(client_id=client_id).first()
    if existing is not None and any(getattr(existing, key) != value for key, value in API_CLIENT.items()):
        raise RegistrationError(
            f"The client {client_id} exists and is not a confidential client-credentials client: "
            "an API needs a client of its own."
        )
    new_secret = None
    if secret is None and (existing is None or rotate_secret):
        new_secret = secret = secrets.token_urlsafe(48)
    api = ResourceServer.objects.filter(application=existing).first() if existing else None
    api = api or ResourceServer(name=name or "", enabled=True)
    old = {key: getattr(api, key) for key in ("name", "resource", "scopes", "enabled", "events_endpoint")}
    wanted = {"name": name, "resource": resource, "scopes": " ".join(scopes.split()) if scopes is not None else None}
    for key, value in {**wanted, "enabled": enabled, "events_endpoint": events_endpoint}.items():
        if value is not None:
            setattr(api, key, value)
    client_fields = {"name": api.name or client_id, **API_CLIENT}
    # Everything is checked before anything is saved: a database that enforces
    # lengths (PostgreSQL) would otherwise refuse the client with a DataError.
    try:
        api.full_clean(exclude=["application"])
        Application(client_id=client_id, **client_fields).clean_fields(exclude=CLIENT_UNCHECKED)
    except ValidationError as error:
        raise RegistrationError(one_line(error)) from None
    client = save_client(client_id, secret, **client_fields)
    api.application = client.application
    created = api.pk is None
    changes = [] if created else [key for key, value in old.items() if getattr(api, key) != value]
    if client.changed and not client.created:
        changes.append("secret" if new_secret else "client")
    if created or changes:
        api.save()
    return Registration(api, client, created, changes, new_secret)


def is_registered(client_id: str) -> bool:
    return ResourceServer.objects.filter(application__client_id=client_id).exists()


@transaction.atomic
def remove(client_id: str) -> bool:
    """Remove the API and its client (with every token issued to the client); False when there was none."""
    api = ResourceServer.objects.select_related("application").filter(application__client_id=client_id).first()
    if api is None:
        return False
    api.application.delete()  # cascades to the registration and the client's tokens
    return True
