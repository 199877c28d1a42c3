"""OpenID Connect views: DOT's, where this issuer's rules differ from DOT 3.4's.

- RFC 8414 metadata names the OpenID Connect endpoints too: RFC 8414 §7.1.2
  registers ``userinfo_endpoint`` as authorization server metadata, and
  RP-Initiated Logout 1.0 §2.1 ``end_session_endpoint``.
- RFC 8414 metadata names RS256 as the algorithm of signed introspection
  answers (RFC 9701 authorization server metadata); none is encrypted.
- Discovery names RS256 as the only ID token algorithm.
- Userinfo refuses an access token sent anywhere but in the Authorization header.
- RP-initiated logout: an unknown ``client_id`` is a 400, not DOT's 500
  (``Application.DoesNotExist``), and so is a post_logout_redirect_uri that does
  not parse (DOT's ValueError); a post-logout redirect to a loopback IP literal
  may use plain http (authorization.loopback); without one, the user lands on
  this server's sign-in page instead of DOT's ``/`` (no page here, and refused on
  plain http by ALLOWED_REDIRECT_URI_SCHEMES); only the tokens of the user signed
  in here, who confirmed, are deleted, never those of an ID token's user alone.
"""

import json

from django.conf import settings
from django.shortcuts import resolve_url
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from oauth2_provider import views
from oauth2_provider.exceptions import InvalidOIDCClientError, InvalidOIDCRedirectURIError
from oauth2_provider.models import get_application_model
from oauthlib.oauth2.rfc6749.errors import InvalidTokenError

from . import loopback, pages

# Each RFC 8414 name, and DOT's URL name of that endpoint.
OPENID_CONNECT_ENDPOINTS = {"userinfo_endpoint": "user-info", "end_session_endpoint": "rp-initiated-logout"}


def amended(response, **members):
    """DOT's JSON metadata ``response`` with ``members`` set, its headers (CORS) kept."""
    response.content = json.dumps({**json.loads(response.content), **members})
    return response


class ServerMetadataView(views.OAuthServerMetadataView):
    """RFC 8414 metadata, with the OpenID Connect endpoints a client of both specifications looks for."""

    def get(self, request, *args, **kwargs):
        endpoints = {name: self._get_endpoint_url(request, view) for name, view in OPENID_CONNECT_ENDPOINTS.items()}
        response = super().get(request, *args, **kwargs)
        return amended(
            response,
            **{name: url for name, url in endpoints.items() if url},
            introspection_signing_alg_values_supported=[get_application_model().RS256_ALGORITHM],
        )


class DiscoveryView(views.ConnectDiscoveryInfoView):
    """OpenID Connect discovery, naming RS256 alone: DOT adds HS256, which signs with the client
    secret in clear, and every secret here is hashed (authorization.scopes.receives_id_tokens)."""

    def get(self, request, *args, **kwargs):
        algorithms = [get_application_model().RS256_ALGORITHM]
        return amended(super().get(request, *args, **kwargs), id_token_signing_alg_values_supported=algorithms)


class UserInfoView(views.UserInfoView):
    """Userinfo, taking the access token from the Authorization header only, as the APIs do.

    RFC 6750 §2.3 and RFC 9700 §4.3.2: a token in the query string ends up in
    logs; the resource servers refuse it (introspection/bearer.py) and read no
    form body. oauthlib's bearer check at userinfo reads both.
    """

    def create_userinfo_response(self, request):
        if "access_token" in request.GET or "access_token" in request.POST:
            error = InvalidTokenError(description="Send the access token in the Authorization header.")
            return None, error.headers, error.json, error.status_code
        return super().create_userinfo_response(request)


class ThisServer:
    """Stands for the client in DOT's redirect check when the user is sent to a page of this server."""

    def __init__(self, request):
        self.request = request

    def get_allowed_schemes(self) -> list[str]:
        return [self.request.scheme]


@method_decorator(never_cache, name="dispatch")
class LogoutView(views.RPInitiatedLogoutView):
    def get_request_application(self, id_token, client_id):
        if client_id and not get_application_model().objects.filter(client_id=client_id).exists():
            raise InvalidOIDCClientError()
        return super().get_request_application(id_token, client_id)

    def validate_post_logout_redirect_uri(self, application, post_logout_redirect_uri):
        if application is not None and post_logout_redirect_uri:
            application = loopback.LoopbackClient(application, post_logout_redirect_uri)
        try:
            super().validate_post_logout_redirect_uri(application, post_logout_redirect_uri)
        except ValueError:  # DOT's urlparse of a URI that does not parse ("http://[::1")
            raise InvalidOIDCRedirectURIError("The post_logout_redirect_uri is not a valid URI.") from None

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        # The confirmation form ends on the client's post-logout URI, validated by now.
        destination = self.oidc_data.get("post_logout_redirect_uri")
        if destination and "error" not in context:
            pages.allow_form_action(response, destination)
        return response

    def do_logout(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None):
        # DOT deletes every token of the ID token's user, at every client. Without
        # a session here DOT asks nobody (must_prompt), so whoever holds an ID
        # token (the client it was issued to, a log line, a Referer) could sign its
        # user out of every app. The tokens deleted are those of the person signed
        # in here, who confirmed (OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT); without
        # one, none: a client revokes its own tokens at /o/revoke_token/.
        signed_in = self.request.user if self.request.user.is_authenticated else None
        if not post_logout_redirect_uri:
            signed_out = self.request.build_absolute_uri(resolve_url(settings.LOGIN_URL))
            return super().do_logout(ThisServer(self.request), signed_out, None, signed_in)
        client = loopback.LoopbackClient(application, post_logout_redirect_uri)
        return super().do_logout(client, post_logout_redirect_uri, state, signed_in)
