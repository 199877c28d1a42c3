"""RFC 7662 token introspection, for resource servers only.

``IntrospectTokenView`` extends DOT's view of the same name and fixes what
DOT 3.4.1 gets wrong for a split deployment:

- any confidential client may introspect any token (DOT#1451): here the caller
  must be a registered ``ResourceServer`` client, or present a bearer token with
  the ``introspection`` scope;
- a refused caller gets a bare 403; RFC 7662 §2.3 asks for 401 with a
  ``WWW-Authenticate`` challenge;
- GET with ``?token=`` is accepted; RFC 7662 §4 lets us refuse it, keeping tokens
  out of access logs;
- refresh tokens and ``token_type_hint`` are ignored (§2.1), and an active answer
  lacks ``sub``, ``iat``, ``iss`` and ``token_type`` (§2.2); ``sub`` here is the
  user's or client's ``Subject``, unique at this issuer;
- the tokens of a deactivated user stay active.

A bearer token may introspect only while its client is an enabled resource
server: deregistering or disabling one cuts off both ways it introspects.

A token bound to resources (RFC 8707) is active only to the APIs it was issued
for: to any other registered API it is ``{"active": false}``, as RFC 7662 §4
lets the AS decide what each protected resource may learn. A token without
``resource`` is shown to every registered API, as before.

A caller that accepts ``application/token-introspection+jwt`` gets the answer as
a JWT signed with the OpenID Connect key (RFC 9701), addressed to its client_id,
so that nothing between the AS and the API can change it unnoticed; any other
caller gets the JSON object as before.
"""

import calendar
import hashlib
import json
from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

from shared import token_introspection

from . import metrics, signing
from .guessing import ClientLockedOut
from .models import ResourceServer, Subject

INACTIVE = {"active": False}


def timestamp(moment) -> int:
    return int(calendar.timegm(moment.utctimetuple()))


def checksum(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# Each answer names its subject: fetched with the token, no query of its own.
RELATED = ("user__subject", "application__subject")


def belongs_to_active_user(token) -> bool:
    return token.user is None or token.user.is_active


def find_access_token(value: str):
    model = get_access_token_model()
    token = model.objects.select_related(*RELATED).filter(token_checksum=checksum(value)).first()
    return token if token is not None and not token.is_expired() and belongs_to_active_user(token) else None


def refresh_token_expires(token):
    lifetime = oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS
    return token.created + timedelta(seconds=lifetime) if lifetime else None


def find_refresh_token(value: str):
    model = get_refresh_token_model()
    token = (
        model.objects.select_related(*RELATED, "access_token")
        .filter(token_checksum=checksum(value), revoked__isnull=True)
        .first()
    )
    if token is None or not belongs_to_active_user(token):
        return None
    expires = refresh_token_expires(token)
    return token if expires is None or expires > timezone.now() else None


def subject(token) -> str | None:
    # A client-credentials token has no user: the client is its own subject.
    owner = token.user or token.application
    return str(Subject.of(owner).value) if owner else None


def claims(token, token_type: str, expires, scope: str, issuer: str) -> dict:
    data = {
        "active": True,
        "scope": scope,
        "client_id": token.application.client_id if token.application else None,
        "username": token.user.get_username() if token.user else None,
        "sub": subject(token),
        "token_type": token_type,
        "exp": timestamp(expires) if expires else None,
        "iat": timestamp(token.created),
        "iss": issuer,
    }
    if token.resource:  # RFC 8707 audience, when the token is bound to resources
        data["aud"] = token.resource
    return {key: value for key, value in data.items() if value is not None}


def shown_to(token, caller: ResourceServer) -> bool:
    """Whether ``caller`` may learn about ``token``: it is one of the token's audiences, or the token has none."""
    return not token.resource or caller.resource in token.resource


def introspect(value: str, hint: str | None, issuer: str, caller: ResourceServer) -> dict:
    """Look the token up as the hint says, then as the other type (RFC 7662 §2.1)."""

    def as_access_token():
        token = find_access_token(value)
        return token and shown_to(token, caller) and claims(token, "Bearer", token.expires, token.scope, issuer)

    def as_refresh_token():
        token = find_refresh_token(value)
        if token is None or not shown_to(token, caller):
            return None
        scope = token.access_token.scope if token.access_token else ""
        return claims(token, "refresh_token", refresh_token_expires(token), scope, issuer)

    lookups = [as_access_token, as_refresh_token]
    if hint == "refresh_token":
        lookups.reverse()
    for lookup in lookups:
        found = lookup()
        if found:
            return found
    return INACTIVE


def asks_for_jwt(request) -> bool:
    """Whether the caller's Accept names RFC 9701's media type itself with q > 0 (RFC 9110 §12.5.1):
    ``*/*`` does not, since a signed answer is for a caller that verifies it."""
    try:
        accepted = request.accepted_types  # without those of q=0
    except ValueError:  # a parameter Django cannot decode: the header asks for nothing it can read
        return False
    return any(f"{media.main_type}/{media.sub_type}" == token_introspection.MEDIA_TYPE for media in accepted)


def signed(answer: dict, issuer: str, caller: ResourceServer) -> HttpResponse:
    """RFC 9701 §5: the RFC 7662 object in a JWT from this issuer to the caller."""
    claims = {"iss": issuer, "aud": caller.application.client_id, token_introspection.CLAIM: answer}
    token = signing.sign(claims, token_introspection.TYPE)
    return HttpResponse(token, content_type=token_introspection.MEDIA_TYPE)


def unauthorized(scheme: str, error: str, description: str) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=401)
    challenge = f'{scheme} realm="introspection"'
    if scheme == "Bearer":
        challenge += f', error="{error}"'
    response["WWW-Authenticate"] = challenge
    return response


@method_decorator([csrf_exempt, login_not_required, never_cache], name="dispatch")
class IntrospectTokenView(views.IntrospectTokenView):
    http_method_names = ["post", "options"]

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        refusal = self.refuse_caller(request)
        if refusal is not None:
            metrics.introspection_requests.labels(caller=metrics.UNAUTHENTICATED, outcome="refused").inc()
            return refusal
        return self.post(request, *args, **kwargs)

    def refuse_caller(self, request):
        """None when the caller may introspect (``self.caller`` is then its registration), else the 401
        (RFC 7662 §2.3) or 429 answer."""
        # RFC 9110 §11.1: the auth-scheme is case-insensitive.
        if request.headers.get("Authorization", "").partition(" ")[0].lower() == "bearer":
            valid, oauth_request = self.verify_request(request)  # requires the `introspection` scope
            self.caller = ResourceServer.of(oauth_request.client) if valid else None
            if self.caller is not None:
                return None
            return unauthorized("Bearer", "invalid_token", "The bearer token is invalid or may not introspect.")
        try:
            client = self.get_oauthlib_core().authenticated_client(request)
        except ClientLockedOut as error:
            return JsonResponse(json.loads(error.json), status=error.status_code, headers=error.headers)
        self.caller = ResourceServer.of(client)
        if self.caller is not None:
            return None
        return unauthorized("Basic", "invalid_client", "Client authentication failed or the client may not introspect.")

    def post(self, request, *args, **kwargs):
        value = request.POST.get("token")
        caller = self.caller.application.client_id
        if not value:
            metrics.introspection_requests.labels(caller=caller, outcome="refused").inc()
            return JsonResponse(
                {"error": "invalid_request", "error_description": "The token parameter is missing."},
                status=400,
            )
        issuer = oauth2_settings.oauth2_authorization_server_issuer(request)
        answer = introspect(value, request.POST.get("token_type_hint"), issuer, self.caller)
        metrics.introspection_requests.labels(caller=caller, outcome="active" if answer["active"] else "inactive").inc()
        response = signed(answer, issuer, self.caller) if asks_for_jwt(request) else JsonResponse(answer)
        # One URL, two representations: a cache between the AS and an API keeps them apart.
        patch_vary_headers(response, ["Accept"])
        return response
