from oauth2_provider.scopes import SettingsScopes

from .models import ResourceServer

INTROSPECTION_SCOPE = "introspection"


class ResourceServerScopes(SettingsScopes):
    """Only enabled, registered resource servers may be granted the ``introspection`` scope.

    With DOT's defaults any client can ask for ``introspection`` and then read
    every token's data (DOT#1451); here the scope is not even available to others.
    """

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        scopes = super().get_available_scopes(application, request, *args, **kwargs)
        if ResourceServer.may_introspect(application):
            return scopes
        return [scope for scope in scopes if scope != INTROSPECTION_SCOPE]
