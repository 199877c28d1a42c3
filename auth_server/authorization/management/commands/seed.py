"""Seed the example APIs' registrations and the demo identities from the environment.

The example APIs are registered as ``manage.py register_resource_server`` would
(authorization.registration), with the client secrets of the environment: the
first API from OAUTH_RS_CLIENT_ID, OAUTH_RS_CLIENT_SECRET, RESOURCE_SERVER_RESOURCE
and RESOURCE_SERVER_SCOPES, the team API from the same names with OAUTH_RS_TEAM_
and TEAM_. Each is skipped when its client variables are unset. Each API's RFC 8935
events endpoint is RESOURCE_SERVER_EVENTS_ENDPOINT (TEAM_...), or when that is
unset or empty /security-events/ at the origin of its resource identifier, where
the resource server receives them.

The demo web app's OpenID Connect client comes from DEMO_WEB_CLIENT_ID,
DEMO_WEB_CLIENT_SECRET, DEMO_WEB_REDIRECT_URI and DEMO_WEB_POST_LOGOUT_REDIRECT_URI;
it is skipped when DEMO_WEB_CLIENT_ID is unset.

Idempotent: running it twice creates nothing new; a changed secret in the
environment is rotated on the next run. Secrets are never printed.
"""

from datetime import timedelta
from typing import NamedTuple
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model, set_token_value

from authorization import loopback, registration
from authorization.introspection import checksum
from authorization.scopes import INTROSPECTION_SCOPE
from shared.settings import env, read_dotenv

Application = get_application_model()
AccessToken = get_access_token_model()

# A pre-minted introspection token lives this long; each seed run extends it.
INTROSPECTION_TOKEN_LIFETIME = timedelta(days=365)
# The example APIs: (what, the prefix of their client variables, of their RS variables, name, default scopes).
FIRST_API = ("first API", "OAUTH_RS_", "", "Notes API", "read write notes")
TEAM_API = ("team API", "OAUTH_RS_TEAM_", "TEAM_", "Team notes API", "team:read team:write team:notes")
# The demo web app's OpenID Connect client: its id, secret, redirect and post-logout redirect URIs.
DEMO_WEB_CLIENT = (
    "DEMO_WEB_CLIENT_ID",
    "DEMO_WEB_CLIENT_SECRET",
    "DEMO_WEB_REDIRECT_URI",
    "DEMO_WEB_POST_LOGOUT_REDIRECT_URI",
)


class ConfiguredAPI(NamedTuple):
    client_id: str
    secret: str
    resource: str | None
    scopes: str
    events_endpoint: str | None


def configured_api(client_prefix: str, prefix: str, default_scopes: str) -> ConfiguredAPI | None:
    """The registration the environment asks for one example API; None when its client variables are unset.

    What seed registers, and what ``manage.py doctor`` compares the database with.
    """
    client_id = env.str(f"{client_prefix}CLIENT_ID", default="")
    secret = env.str(f"{client_prefix}CLIENT_SECRET", default="")
    if not (client_id and secret):
        return None
    resource = env.str(f"{prefix}RESOURCE_SERVER_RESOURCE", default="") or None
    scopes = env.str(f"{prefix}RESOURCE_SERVER_SCOPES", default="") or default_scopes
    events_endpoint = env.str(f"{prefix}RESOURCE_SERVER_EVENTS_ENDPOINT", default="") or (
        urljoin(resource, "/security-events/") if resource else None
    )
    return ConfiguredAPI(client_id, secret, resource, scopes, events_endpoint)


class Command(BaseCommand):
    help = "Create or update the example APIs' registrations and the demo identities from the environment."

    @transaction.atomic
    def handle(self, *args, **options):
        # The serving AS never sees these secrets; only this command reads them.
        read_dotenv(settings.BASE_DIR.parent, "seed")
        first_api = self.seed_api(*FIRST_API)
        if first_api is not None:
            self.seed_introspection_token(first_api)
        self.seed_api(*TEAM_API)
        self.seed_demo_user()
        self.seed_demo_client()
        self.seed_demo_public_client()
        self.seed_demo_web_client()

    def report(self, what: str, outcome: str) -> None:
        self.stdout.write(f"seed: {what}: {outcome}")

    def variables(self, *names: str) -> list[str] | None:
        values = [env.str(name, default="") for name in names]
        if all(values):
            return values
        self.report(" and ".join(names), "not set, skipped")
        return None

    def seed_application(self, what: str, client_id: str, secret: str | None, **fields):
        outcome = registration.save_client(client_id, secret, **fields)
        self.report(f"{what} {client_id}", outcome.summary)
        return outcome.application

    def seed_api(self, what: str, client_prefix: str, prefix: str, name: str, default_scopes: str):
        if self.variables(f"{client_prefix}CLIENT_ID", f"{client_prefix}CLIENT_SECRET") is None:
            return None
        wanted = configured_api(client_prefix, prefix, default_scopes)
        client_id = wanted.client_id
        try:
            done = registration.register(
                client_id,
                resource=wanted.resource,
                scopes=wanted.scopes,
                name=name,
                events_endpoint=wanted.events_endpoint,
                secret=wanted.secret,
            )
        except registration.RegistrationError as error:
            raise CommandError(f"{what} {client_id}: {error}") from None
        self.report(f"{what} {client_id}", done.summary)
        if done.api.resource is None:
            # An older .env: the API owns its scopes, but no token can be asked for it by resource.
            self.report(f"{what} {client_id}", f"{prefix}RESOURCE_SERVER_RESOURCE not set, registered without resource")
        if not done.api.enabled:
            # Disabling is an operator's decision (the admin, --disable); the environment does not undo it.
            self.report(f"{what} {client_id}", "disabled, left disabled")
        return done.api.application

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

    def seed_demo_web_client(self) -> None:
        if not env.str("DEMO_WEB_CLIENT_ID", default=""):
            self.report("DEMO_WEB_CLIENT_ID", "not set, skipped")
            return
        values = self.variables(*DEMO_WEB_CLIENT)
        if values is None:
            raise CommandError(f"DEMO_WEB_CLIENT_ID is set: set {', '.join(DEMO_WEB_CLIENT[1:])} too (make env does).")
        client_id, secret, redirect_uri, post_logout_redirect_uri = values
        for name, uri in zip(DEMO_WEB_CLIENT[2:], (redirect_uri, post_logout_redirect_uri), strict=True):
            if not loopback.may_register(uri):
                raise CommandError(f"{name}={uri}: use https, or http on 127.0.0.1 or [::1] (RFC 8252 §7.3).")
        self.seed_application(
            "demo web OpenID Connect client",
            client_id,
            secret,
            name="Demo web app",
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=redirect_uri,
            post_logout_redirect_uris=post_logout_redirect_uri,
            algorithm=Application.RS256_ALGORITHM,
            skip_authorization=False,
        )
