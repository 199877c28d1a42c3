"""The scopes this issuer offers: its own (``openid``, ``profile``, ``email``, ``introspection``), and
those of each enabled registered API.

An API's scopes come from its registration (``manage.py register_resource_server
--scopes``), not from settings. DEFAULT_SCOPES still names the scopes a request
without ``scope`` gets, among those available to the client; a default scope no
enabled API owns is simply not granted.
"""

from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_validators import GRANT_TYPE_MAPPING
from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings

from .models import ResourceServer
from .validators import INTROSPECTION_SCOPE

__all__ = ["INTROSPECTION_SCOPE", "OPENID_CONNECT_SCOPES", "ResourceServerScopes", "describe", "receives_id_tokens"]

# The scopes of OpenID Connect Core §3.1.2.1 and §5.4: asking for them asks for an ID token.
OPENID_CONNECT_SCOPES = ("openid", "profile", "email")

# What a scope lets a client do, by its last ":"-separated part (team:read is
# read on the team API). The consent page shows it under the API's name.
ACTIONS = {
    "read": "Read your data",
    "write": "Change your data",
    "notes": "Read and change your notes",
}


def describe(scope: str) -> str:
    return ACTIONS.get(scope.rpartition(":")[2], scope)


def receives_id_tokens(application) -> bool:
    """Whether ``application`` can be sent an ID token: a client of the code flow, signed RS256.

    A client-credentials token has no user to identify. An application with no
    algorithm (every client registered before OpenID Connect, the admin's default)
    makes DOT fail signing with ImproperlyConfigured, a 500; HS256 signs with the
    client secret in clear, and every secret here is hashed (DOT refuses it too).
    """
    return (
        application.allows_grant_type(*GRANT_TYPE_MAPPING["authorization_code"])
        and application.algorithm == get_application_model().RS256_ALGORITHM
    )


class ResourceServerScopes(BaseScopes):
    """Only enabled, registered resource servers may be granted the ``introspection`` scope, and only
    clients that can receive an ID token the OpenID Connect scopes (invalid_scope for others).

    With DOT's defaults any client can ask for ``introspection`` and then read
    every token's data (DOT#1451); here the scope is not even available to others.
    Without an application (discovery's and RFC 8414's ``scopes_supported``), every scope.
    """

    def get_all_scopes(self):
        apis = ResourceServer.objects.enabled().scope_owners()
        return {**oauth2_settings.SCOPES, **{scope: describe(scope) for scope in apis}}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        scopes = list(self.get_all_scopes())
        if application is None:
            return [scope for scope in scopes if scope != INTROSPECTION_SCOPE]
        refused = set()
        if not ResourceServer.may_introspect(application):
            refused.add(INTROSPECTION_SCOPE)
        if not receives_id_tokens(application):
            refused.update(OPENID_CONNECT_SCOPES)
        return [scope for scope in scopes if scope not in refused]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        # Not DOT's SettingsScopes: it requires DEFAULT_SCOPES in the settings' SCOPES,
        # where the APIs' scopes no longer are.
        available = self.get_available_scopes(application, request)
        return [scope for scope in oauth2_settings.DEFAULT_SCOPES if scope in available]
