from rest_framework.authentication import BaseAuthentication

from . import bearer
from .errors import challenge


class IntrospectionAuthentication(BaseAuthentication):
    """DRF authentication by RFC 7662 introspection at the authorization server.

    Replaces DOT's ``OAuth2Authentication`` in resource-server mode, which stores
    every token in the RS's database and has no timeout (DOT#1027, DOT#1827).
    Sets ``request.user`` (a TokenUser), ``request.auth`` and
    ``request.oauth_token`` (the same IntrospectedToken).
    """

    def authenticate(self, request):
        token = bearer.authenticate(request._request)
        if token is None:
            return None
        request._request.oauth_token = token
        return token.user, token

    def authenticate_header(self, request):
        return challenge()
