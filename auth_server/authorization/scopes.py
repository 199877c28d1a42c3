"""The scopes this issuer offers: its own ``introspection``, and those of each enabled registered API.

An API's scopes come from its registration (``manage.py register_resource_server
--scopes``), not from settings. DEFAULT_SCOPES still names the scopes a request
without ``scope`` gets, among those available to the client; a default scope no
enabled API owns is simply not granted.
"""

from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings

from .models import ResourceServer
from .validators import INTROSPECTION_SCOPE

__all__ = ["INTROSPECTION_SCOPE", "ResourceServerScopes", "describe"]

# What a scope lets a client do, by its last ":"-separated part (team:read is
# read on the team API). The consent page shows it under the API's name.
ACTIONS = {
    "read": "Read your data",
    "write": "Change your data",
    "notes": "Read and change your notes",
}


def describe(scope: str) -> str:
    return ACTIONS.get(scope.rpartition(":")[2], scope)


class ResourceServerScopes(BaseScopes):
    """Only enabled, registered resource servers may be granted the ``introspection`` scope.

    With DOT's defaults any client can ask for ``introspection`` and then read
    every token's data (DOT#1451); here the scope is not even available to others.
    """

    def get_all_scopes(self):
        apis = ResourceServer.objects.enabled().scope_owners()
        return {**oauth2_settings.SCOPES, **{scope: describe(scope) for scope in apis}}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        scopes = list(self.get_all_scopes())
        if ResourceServer.may_introspect(application):
            return scopes
        return [scope for scope in scopes if scope != INTROSPECTION_SCOPE]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        # Not DOT's SettingsScopes: it requires DEFAULT_SCOPES in the settings' SCOPES,
        # where the APIs' scopes no longer are.
        available = self.get_available_scopes(application, request)
        return [scope for scope in oauth2_settings.DEFAULT_SCOPES if scope in available]
