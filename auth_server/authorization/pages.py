"""What every page of the authorization server shares: the brand, the request id, plain words for
refused requests, and the Content-Security-Policy around them.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from csp.constants import SELF
from csp.middleware import CSPMiddleware
from django.http import HttpResponseServerError
from django.template import loader
from oauthlib.oauth2.rfc6749 import errors

from shared import request_id

from . import branding


def page_context(request) -> dict:
    """The context processor of every page (500 included, which gets no request)."""
    return {"brand": branding, "request_id": request_id.current()}


def server_error(request):
    # Django renders 500.html without context processors; nothing that may have
    # failed (the database behind the session and the user) is touched here either.
    return HttpResponseServerError(loader.render_to_string("500.html", page_context(request)))


@dataclass(frozen=True)
class ProtocolProblem:
    heading: str
    explanation: str
    advice: str


UNKNOWN_APP = ProtocolProblem(
    "This app is not known here",
    "The app that sent you here is not registered, so you cannot sign in to it.",
    "Go back to the app and try again. If this keeps happening, tell the app's developers.",
)
UNVERIFIED_ADDRESS = ProtocolProblem(
    "This app's return address is not registered",
    "The app asked to send you to an address it has not registered. To keep your account safe, you are not sent there.",
    "Go back to the app and try again. If this keeps happening, tell the app's developers.",
)
BAD_REQUEST = ProtocolProblem(
    "This request cannot be completed",
    "The app that sent you here made a request that cannot be accepted.",
    "Go back to the app and try again. If this keeps happening, tell the app's developers.",
)
# The errors that make a request fatal (RFC 6749 §4.1.2.1: the user must not be redirected).
PROBLEMS = {
    errors.MissingClientIdError: UNKNOWN_APP,
    errors.InvalidClientIdError: UNKNOWN_APP,
    errors.MissingRedirectURIError: UNVERIFIED_ADDRESS,
    errors.InvalidRedirectURIError: UNVERIFIED_ADDRESS,
    errors.MismatchingRedirectURIError: UNVERIFIED_ADDRESS,
}


def problem(error) -> ProtocolProblem:
    """``error`` (an oauthlib or OIDC error DOT renders instead of redirecting) in plain words."""
    return PROBLEMS.get(type(error), BAD_REQUEST)


# What separates sources (whitespace), directives (;) and policies (,) in a CSP header.
CSP_SEPARATORS = re.compile(r"[\s;,]")


def origin(uri: str) -> str | None:
    """Where ``uri`` leads, for a person and as a CSP source: ``https://app.example``, ``com.example.app:``.

    Built from the parsed scheme, host and port, never from the netloc as sent:
    DOT matches a loopback redirect URI on any port without parsing the port
    (RFC 8252 §7.3), so the text there is the requester's. None when ``uri`` does
    not parse, or its origin would not be one CSP source.
    """
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:  # an unclosed IPv6 bracket, a port that is no number
        return None
    if not parts.netloc:
        source = f"{parts.scheme}:"
    elif not parts.hostname:
        return None
    else:
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        source = f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    return None if not parts.scheme or CSP_SEPARATORS.search(source) else source


def allow_form_action(response, uri: str):
    """Let this page's form lead to ``uri``'s origin (verified by the caller), when it has one.

    CSP's form-action covers the redirects that follow a form's POST, in
    Chromium: the consent form ends on the client's redirect URI and RP-initiated
    logout on its post-logout one, both on another origin than the form's.
    """
    source = origin(uri)
    if source is not None:
        response._csp_update = {"form-action": [source]}
    return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the scripts the Django admin loads from its static files.

    Our pages need no script at all (default-src 'none'); the admin's are files
    of its own, and its autocomplete fetches from the admin itself.
    """

    ADMIN = {"script-src": [SELF], "connect-src": [SELF]}

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        match = getattr(request, "resolver_match", None)
        if match is not None and "admin" in match.app_names:
            parts.update = {**self.ADMIN, **(parts.update or {})}
        return parts
