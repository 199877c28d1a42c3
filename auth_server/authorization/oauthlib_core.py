"""How DOT hands requests to oauthlib, without the 500s of DOT 3.4.1.

oauthlib parses the query string again, strictly: a bare ``%``, or a character
DOT's ``_get_escaped_full_path`` leaves unescaped, raises ValueError. Every
endpoint now gives oauthlib the query Django parsed, re-encoded.
"""

from urllib.parse import urlencode, urlsplit, urlunsplit

from oauth2_provider import oauth2_backends
from oauthlib.common import Request as OauthlibRequest

# RFC 6749 §5.1, §5.2: what every token endpoint answer carries.
TOKEN_RESPONSE_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthLibCore(oauth2_backends.OAuthLibCore):
    def _get_escaped_full_path(self, request):
        query = urlencode(list(request.GET.lists()), doseq=True)
        return urlunsplit(urlsplit(request.get_full_path())._replace(query=query))

    def create_token_response(self, request):
        # An error raised outside oauthlib's grant handlers (a query string, an
        # invalid resource) reaches DOT's view with no headers: Django would label
        # its JSON body text/html.
        uri, headers, body, status = super().create_token_response(request)
        return uri, {**TOKEN_RESPONSE_HEADERS, **headers}, body, status

    def authenticated_client(self, request):
        """The client that authenticated with HTTP Basic or body credentials (RFC 6749 §2.3.1), or None."""
        uri, http_method, body, headers = self._extract_params(request)
        oauth_request = OauthlibRequest(uri, http_method, body, headers)
        if self.server.request_validator.authenticate_client(oauth_request):
            return oauth_request.client
        return None
