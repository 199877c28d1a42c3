"""OpenID Connect views: DOT's, where this issuer's rules differ from DOT 3.4's.

- RFC 8414 metadata names the OpenID Connect endpoints too: RFC 8414 §7.1.2
  registers ``userinfo_endpoint`` as authorization server metadata, and
  RP-Initiated Logout 1.0 §2.1 ``end_session_endpoint``.
- RP-initiated logout: an unknown ``client_id`` is a 400, not DOT's 500
  (``Application.DoesNotExist``); a post-logout redirect to a loopback IP literal
  may use plain http (authorization.loopback); without one, the user lands on
  this server's sign-in page instead of DOT's ``/`` (no page here, and refused on
  plain http by ALLOWED_REDIRECT_URI_SCHEMES).
"""

import json

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import resolve_url
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from oauth2_provider import views
from oauth2_provider.exceptions import InvalidOIDCClientError
from oauth2_provider.models import get_application_model

from . import loopback, pages

# Each RFC 8414 name, and DOT's URL name of that endpoint.
OPENID_CONNECT_ENDPOINTS = {"userinfo_endpoint": "user-info", "end_session_endpoint": "rp-initiated-logout"}


class ServerMetadataView(views.OAuthServerMetadataView):
    """RFC 8414 metadata, with the OpenID Connect endpoints a client of both specifications looks for."""

    def get(self, request, *args, **kwargs):
        metadata = json.loads(super().get(request, *args, **kwargs).content)
        for name, view_name in OPENID_CONNECT_ENDPOINTS.items():
            url = self._get_endpoint_url(request, view_name)
            if url:
                metadata[name] = url
        return JsonResponse(metadata, headers={"Access-Control-Allow-Origin": "*"})


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
        super().validate_post_logout_redirect_uri(application, post_logout_redirect_uri)

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        # The confirmation form ends on the client's post-logout URI, validated by now.
        destination = self.oidc_data.get("post_logout_redirect_uri")
        if destination and "error" not in context:
            pages.allow_form_action(response, destination)
        return response

    def do_logout(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None):
        if not post_logout_redirect_uri:
            signed_out = self.request.build_absolute_uri(resolve_url(settings.LOGIN_URL))
            return super().do_logout(ThisServer(self.request), signed_out, None, token_user)
        client = loopback.LoopbackClient(application, post_logout_redirect_uri)
        return super().do_logout(client, post_logout_redirect_uri, state, token_user)
