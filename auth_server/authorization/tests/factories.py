from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
    set_token_value,
)

from authorization.models import ResourceServer

Application = get_application_model()
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


# The first example API's scopes, as the seed registers them.
FIRST_API_SCOPES = "read write notes"


def application(
    client_id, secret="secret-" + "x" * 40, resource_server=False, scopes=FIRST_API_SCOPES, resource=None, **fields
):
    """A confidential client; with ``resource_server``, registered as an API owning ``scopes``."""
    app = Application.objects.create(
        client_id=client_id,
        client_secret=secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        **fields,
    )
    if resource_server:
        ResourceServer.objects.create(application=app, scopes=scopes, resource=resource)
    return app


def public_client(client_id="public", redirect_uri="https://client.example/cb"):
    """A public client of the authorization code grant (PKCE), with no secret."""
    return Application.objects.create(
        client_id=client_id,
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        client_secret="",
        hash_client_secret=False,
    )


def access_token(value, app, user=None, scope="read", expires_in=3600, resource=()):
    expires = timezone.now() + timedelta(seconds=expires_in)
    token = AccessToken(application=app, user=user, scope=scope, expires=expires, resource=list(resource))
    set_token_value(token, value)
    token.save()
    return token


def refresh_token(value, app, user, access):
    token = RefreshToken(application=app, user=user, access_token=access, resource=access.resource)
    set_token_value(token, value)
    token.save()
    return token


def user(username="alice"):
    return get_user_model().objects.create_user(username=username, password="a long user password")
