"""The authorization server's ``manage.py doctor`` checks: its keys, and the registrations the seed makes.

The example APIs' registrations are compared with what ``manage.py seed`` would
register from the same environment (seed.configured_api): an AS that missed an
upgrade step (an API registered before resource identifiers, scopes or events
endpoints existed, the team API never registered, a secret rotated in .env but
not in the database) says which, and "run manage.py seed". Only where the seed's
variables are (make run's .env, Compose's auth-migrate): the serving AS never
receives them, and there this check is skipped.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from oauth2_provider.models import get_application_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem

from shared.doctor import Skipped, Wrong
from shared.settings import env, read_dotenv

from . import signing
from .hashers import check_client_secret
from .introspection import find_access_token
from .management.commands.seed import DEMO_WEB_CLIENT, FIRST_API, TEAM_API, configured_api
from .models import ResourceServer

SEED = "run manage.py seed (make migrate-auth; under Compose docker compose up -d runs auth-migrate)"


def signing_key() -> str:
    key = jwk_from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY)
    signing.sign({"doctor": True}, "JWT")
    inactive = [jwk_from_pem(pem).thumbprint() for pem in oauth2_settings.OIDC_RSA_PRIVATE_KEYS_INACTIVE]
    return f"OIDC_RSA_PRIVATE_KEY loads and signs (kid {key.thumbprint()}), {len(inactive)} previous key(s) in JWKS"


def seed_environment() -> None:
    read_dotenv(settings.BASE_DIR.parent, "seed")


def registration(api) -> Callable[[], str]:
    what, client_prefix, prefix, _, default_scopes = api

    def check() -> str:
        seed_environment()
        wanted = configured_api(client_prefix, prefix, default_scopes)
        if wanted is None:
            raise Skipped(f"{client_prefix}CLIENT_ID and {client_prefix}CLIENT_SECRET are not set here")
        registered = ResourceServer.objects.select_related("application").filter(
            application__client_id=wanted.client_id
        )
        registered = registered.first()
        if registered is None:
            raise Wrong(f"{what} {wanted.client_id}: not registered: {SEED}")
        differences = [
            name
            for name, value, expected in [
                (f"{prefix}RESOURCE_SERVER_RESOURCE", registered.resource, wanted.resource),
                (f"{prefix}RESOURCE_SERVER_SCOPES", registered.scope_list, wanted.scopes.split()),
                (f"{prefix}RESOURCE_SERVER_EVENTS_ENDPOINT", registered.events_endpoint, wanted.events_endpoint or ""),
            ]
            if value != expected
        ]
        if not check_client_secret(wanted.secret, registered.application.client_secret):
            differences.append(f"{client_prefix}CLIENT_SECRET")
        if differences:
            raise Wrong(f"{what} {wanted.client_id}: registered, but not as {', '.join(differences)} say: {SEED}")
        if not registered.enabled:
            raise Wrong(
                f"{what} {wanted.client_id}: registered but disabled, so it can introspect nothing: "
                f"register_resource_server --client-id {wanted.client_id} --enable, or the admin"
            )
        if wanted.resource is None:
            raise Wrong(f"{what} {wanted.client_id}: {prefix}RESOURCE_SERVER_RESOURCE is not set: run make env")
        return f"{what} {wanted.client_id}: registered as {wanted.resource} with its scopes and events endpoint"

    return check


def seeded_identities() -> str:
    """The demo user and clients, and the first API's introspection token, that the seed's variables name."""
    seed_environment()
    wanted = {
        "DEMO_CLIENT_ID": env.str("DEMO_CLIENT_ID", default=""),
        "DEMO_PUBLIC_CLIENT_ID": env.str("DEMO_PUBLIC_CLIENT_ID", default=""),
        DEMO_WEB_CLIENT[0]: env.str(DEMO_WEB_CLIENT[0], default=""),
    }
    wanted = {name: client_id for name, client_id in wanted.items() if client_id}
    clients = get_application_model().objects.filter(client_id__in=wanted.values())
    found = set(clients.values_list("client_id", flat=True))
    missing = [name for name, client_id in wanted.items() if client_id not in found]
    username = env.str("DEMO_USERNAME", default="")
    if username and not get_user_model().objects.filter(username=username).exists():
        missing.append("DEMO_USERNAME")
    token = env.str("OAUTH_RS_INTROSPECTION_TOKEN", default="")
    if token and find_access_token(token) is None:
        missing.append("OAUTH_RS_INTROSPECTION_TOKEN")
    if missing:
        raise Wrong(f"not in the database, or expired: {', '.join(missing)}: {SEED}")
    if not wanted and not username and not token:
        raise Skipped("no demo identity is configured here")
    return "the demo user and clients, and the introspection token, are there"


CHECKS = [
    ("signing key", signing_key),
    ("first API", registration(FIRST_API)),
    ("team API", registration(TEAM_API)),
    ("seeded identities", seeded_identities),
]
