"""Seed the resource server's client and the demo identities from the environment.

Idempotent: running it twice creates nothing new; a changed secret in the
environment is rotated on the next run. Secrets are never printed.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model, set_token_value

from authorization.hashers import check_client_secret
from authorization.introspection import checksum
from authorization.models import ResourceServer
from authorization.scopes import INTROSPECTION_SCOPE
from shared.settings import env, read_dotenv

Application = get_application_model()
AccessToken = get_access_token_model()

# A pre-minted introspection token lives this long; each seed run extends it.
INTROSPECTION_TOKEN_LIFETIME = timedelta(days=365)


class Command(BaseCommand):
    help = "Create or update the resource server's client and the demo identities from the environment."

    @transaction.atomic
    def handle(self, *args, **options):
        # The serving AS never sees these secrets; only this command reads them.
        read_dotenv(settings.BASE_DIR.parent, "seed")
        resource_server = self.seed_resource_server()
        if resource_server is not None:
            self.seed_introspection_token(resource_server)
        self.seed_demo_user()
        self.seed_demo_client()
        self.seed_demo_public_client()

    def report(self, what: str, outcome: str) -> None:
        self.stdout.write(f"seed: {what}: {outcome}")

    def variables(self, *names: str) -> list[str] | None:
        values = [env.str(name, default="") for name in names]
        if all(values):
            return values
        self.report(" and ".join(names), "not set, skipped")
        return None

    def seed_application(self, what: str, client_id: str, secret: str | None, **fields):
        application, created = Application.objects.get_or_create(client_id=client_id, defaults=fields)
        changed = created
        for field, value in fields.items():
            if getattr(application, field) != value:
                setattr(application, field, value)
                changed = True

        def store(value):
            nonlocal changed
            application.client_secret = value  # DOT hashes it on save, with CLIENT_SECRET_HASHER
            changed = True

        # A changed secret is rotated; an unchanged one still hashed with PBKDF2 is rehashed.
        if secret is not None and not check_client_secret(secret, application.client_secret, setter=store):
            store(secret)
        if changed:
            application.save()
        self.report(f"{what} {client_id}", "created" if created else "updated" if changed else "unchanged")
        return application

    def seed_resource_server(self):
        values = self.variables("OAUTH_RS_CLIENT_ID", "OAUTH_RS_CLIENT_SECRET")
        if values is None:
            return None
        client_id, secret = values
        application = self.seed_application(
            "resource server client",
            client_id,
            secret,
            name="Resource server",
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        )
        registration, _ = ResourceServer.objects.get_or_create(application=application)
        if not registration.enabled:
            # Disabling is an operator's decision (the admin); the environment does not undo it.
            self.report("resource server registration", "disabled, left disabled")
        return application

    def seed_introspection_token(self, application) -> None:
        values = self.variables("OAUTH_RS_INTROSPECTION_TOKEN")
        if values is None:
            return
        (value,) = values
        expires = timezone.now() + INTROSPECTION_TOKEN_LIFETIME
        tokens = AccessToken.objects.filter(application=application, user=None, scope=INTROSPECTION_SCOPE)
        # A changed value rotates the token: the previous one stops working now.
        rotated, _ = tokens.exclude(token_checksum=checksum(value)).delete()
        updated = tokens.filter(token_checksum=checksum(value)).update(expires=expires)
        if not updated:
            token = AccessToken(application=application, user=None, scope=INTROSPECTION_SCOPE, expires=expires)
            set_token_value(token, value)
            token.save()
        self.report("introspection token", "rotated" if rotated else "extended" if updated else "created")

    def seed_demo_user(self) -> None:
        values = self.variables("DEMO_USERNAME", "DEMO_PASSWORD")
        if values is None:
            return
        username, password = values
        user, created = get_user_model().objects.get_or_create(username=username)
        changed = not user.check_password(password)
        if changed:
            user.set_password(password)
            user.save()
        self.report(f"demo user {username}", "created" if created else "updated" if changed else "unchanged")

    def seed_demo_client(self) -> None:
        values = self.variables("DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET")
        if values is None:
            return
        client_id, secret = values
        self.seed_application(
            "demo client-credentials client",
            client_id,
            secret,
            name="Demo machine client",
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        )

    def seed_demo_public_client(self) -> None:
        values = self.variables("DEMO_PUBLIC_CLIENT_ID", "DEMO_REDIRECT_URI")
        if values is None:
            return
        client_id, redirect_uri = values
        self.seed_application(
            "demo public PKCE client",
            client_id,
            None,
            name="Demo public client",
            client_type=Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=redirect_uri,
            client_secret="",
            hash_client_secret=False,
            skip_authorization=False,
        )
