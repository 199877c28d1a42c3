"""DOT's request validator, where this issuer's rules differ from DOT 3.4.1's.

- Client authentication: the Basic scheme is case-insensitive, non-ASCII
  credentials are no credentials (not a 500), a client_id no client can have
  never reaches the database, a secret still hashed with PBKDF2 moves to the fast
  client-secret hasher on its first successful check, and guessing is limited.
- A deactivated user's access tokens (userinfo), refresh tokens and authorization codes are refused.
- RFC 8707 resources: a ``resource`` that names no enabled registered API is
  invalid_target (one urlsplit cannot parse too, not a 500), and a token asked
  for some APIs carries none of another API's scopes (invalid_scope).
- OpenID Connect claims: ``sub`` is the user's ``Subject``, as in introspection
  answers (DOT's is the primary key); ``profile`` and ``email`` give the standard
  claims the user model has, and a claim without a value is left out.
- Tokens issued and revoked, and failed client authentications, are counted (authorization.metrics).
"""

import base64
import binascii
from contextlib import suppress
from urllib.parse import unquote_plus, urlsplit

from django.contrib.auth.hashers import identify_hasher, make_password
from django.urls import reverse
from django.utils import timezone
from oauth2_provider import oauth2_validators
from oauth2_provider.models import get_access_token_model, get_application_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749.errors import InvalidScopeError, InvalidTokenError
from oauthlib.oauth2.rfc6749.utils import scope_to_list

from . import guessing, metrics, resource_indicators
from .hashers import check_client_secret
from .introspection import checksum
from .models import ResourceServer, Subject
from .scopes import receives_id_tokens

Application = get_application_model()
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
CLIENT_ID_LENGTH = Application._meta.get_field("client_id").max_length


def token_audience_allows(request_uri: str, audiences: list[str]) -> bool:
    """RESOURCE_SERVER_TOKEN_RESOURCE_VALIDATOR: whether a token bound to ``audiences`` may call ``request_uri``.

    A relying party asks one token for userinfo and for its APIs (``resource=``
    an API, OpenID Connect Core §5.3.1): userinfo takes it, bound or not; the
    endpoint still requires the ``openid`` scope. Elsewhere, DOT's RFC 8707 rule.
    """
    if urlsplit(request_uri).path == reverse("oauth2_provider:user-info"):
        return True
    return oauth2_validators.validate_resource_as_url_prefix(request_uri, audiences)


def could_be_client_id(value) -> bool:
    # A NUL can still come inside Basic credentials, and PostgreSQL refuses NUL in
    # text: psycopg 3 raises DataError, where DOT's guard (GH #1006) expects ValueError.
    return isinstance(value, str) and 0 < len(value) <= CLIENT_ID_LENGTH and "\x00" not in value


def rehash_client_secret(encoded: str, secret: str) -> None:
    # Keyed by the old hash (its salt makes it unique): a concurrent rehash or a
    # secret rotated meanwhile is left alone.
    new = make_password(secret, hasher=oauth2_settings.CLIENT_SECRET_HASHER)
    Application.objects.filter(client_secret=encoded).update(client_secret=new)


def revocable_type(token: str, client) -> str | None:
    """What RFC 7009 revocation of ``token`` by ``client`` revokes, as DOT looks it up: "access_token",
    "refresh_token", or None (unknown, another client's, or a refresh token revoked already)."""
    if getattr(client, "pk", None) is None:
        return None
    lookup = {"token_checksum": checksum(token), "application_id": client.pk}
    if AccessToken.objects.filter(**lookup).exists():
        return metrics.ACCESS_TOKEN
    if RefreshToken.objects.filter(**lookup, revoked__isnull=True).exists():
        return metrics.REFRESH_TOKEN
    return None


def count_family_revoked_since(token: str, started) -> None:
    """Counts the refresh tokens DOT's reuse protection revoked (RFC 9700 §4.14.2) when ``token`` was
    replayed: its family's, revoked since ``started``; none for a refresh token refused for another reason."""
    family = RefreshToken.objects.filter(token_checksum=checksum(token)).exclude(token_family=None)
    revoked = RefreshToken.objects.filter(token_family__in=family.values("token_family"), revoked__gte=started)
    count = revoked.count()
    if count:
        metrics.revocations.labels(token_type=metrics.REFRESH_TOKEN, by=metrics.BY_ISSUER).inc(count)


class OAuth2Validator(oauth2_validators.OAuth2Validator):
    def _extract_basic_auth(self, request):
        # RFC 7235 §2.1: the auth-scheme is case-insensitive; DOT accepts "Basic" only.
        # RFC 7617 §2: the credentials are base64, so ASCII; DOT's b64decode raises on anything else.
        scheme, _, credentials = request.headers.get("HTTP_AUTHORIZATION", "").partition(" ")
        credentials = credentials.strip()
        if scheme.lower() != "basic" or not credentials or not credentials.isascii():
            return None
        return credentials

    def claimed_client_ids(self, request) -> set[str]:
        """Each client_id the request tries to authenticate as, before any secret is checked."""
        claimed = {request.client_id}
        credentials = self._extract_basic_auth(request)
        # Undecodable credentials claim no client: DOT refuses them too.
        with suppress(binascii.Error, UnicodeDecodeError):
            claimed.add(unquote_plus(base64.b64decode(credentials or "").decode().partition(":")[0]))
        return {client_id for client_id in claimed if could_be_client_id(client_id)}

    def authenticate_client(self, request, *args, **kwargs):
        attempt = guessing.ClientAttempt(request, self.claimed_client_ids(request))
        attempt.refuse_if_locked_out()
        authenticated = super().authenticate_client(request, *args, **kwargs)
        if not authenticated:
            metrics.client_authentication_failures.inc()
            attempt.failed()
        return authenticated

    def _load_application(self, client_id, request):
        if not could_be_client_id(client_id):
            request.client = None
            return None
        return super()._load_application(client_id, request)

    def _check_secret(self, provided_secret, stored_secret):
        try:
            identify_hasher(stored_secret)
        except ValueError:  # stored in clear (hash_client_secret=False)
            return super()._check_secret(provided_secret, stored_secret)
        return check_client_secret(
            provided_secret, stored_secret, setter=lambda secret: rehash_client_secret(stored_secret, secret)
        )

    def _validate_resource_uris(self, request, resources):
        # DOT calls this for the resources a request names and for those a token
        # inherits from its grant or refresh token: an API disabled or removed
        # since is refused too.
        resource = resource_indicators.unparsable(resources)
        if resource is not None:
            raise resource_indicators.invalid_target(resource, request=request)
        super()._validate_resource_uris(request, resources)
        registered = ResourceServer.objects.enabled().filter(resource__in=resources)
        known = set(registered.values_list("resource", flat=True))
        for resource in resources:
            if resource not in known:
                raise resource_indicators.unregistered(resource, request=request)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        # The authorization request and the client credentials grant. The other
        # grants' token requests take their scopes and resources from a grant or
        # a refresh token, and are checked when the token is saved.
        if not super().validate_scopes(client_id, scopes, client, request, *args, **kwargs):
            return False
        if not scopes:
            # RFC 6749 §3.3: without a default, a request without scope fails as invalid_scope.
            raise InvalidScopeError(
                description="No scope was requested and no default scope is available: name one with `scope`.",
                request=request,
            )
        resources = resource_indicators.requested(request)
        self._validate_resource_uris(request, resources)
        self.refuse_scopes_of_other_apis(request, scopes, resources, defaulted=not request.scope)
        return True

    def _check_and_set_request_resource(self, request):
        super()._check_and_set_request_resource(request)
        self.refuse_scopes_of_other_apis(request, request.scopes, request.resource)

    def refuse_scopes_of_other_apis(self, request, scopes, resources, defaulted=False) -> None:
        """invalid_scope when a token asked for some APIs would carry a scope of another API.

        A token without ``resource`` may carry any API's scopes, as before RFC 8707;
        the scopes of an API registered without a resource identifier bind nothing.
        """
        if not resources:
            return
        owners = ResourceServer.objects.scope_owners()
        for scope in scope_to_list(scopes) or []:
            owner = owners.get(scope)
            if owner is not None and owner.resource and owner.resource not in resources:
                raise InvalidScopeError(
                    description=f"The {'default ' if defaulted else ''}scope '{scope}' belongs to the API "
                    f"{owner.resource}, which is not among the requested resources: ask for that resource too, "
                    "or for a token of its own.",
                    request=request,
                )

    def validate_bearer_token(self, token, scopes, request):
        # A deactivated user's access tokens are inactive in introspection answers
        # (authorization.introspection), and refused at userinfo alike.
        valid = super().validate_bearer_token(token, scopes, request)
        return valid and (request.user is None or request.user.is_active)

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        valid = super().validate_code(client_id, code, client, request, *args, **kwargs)
        return valid and request.user.is_active

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        started = timezone.now()
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if not valid:
            count_family_revoked_since(refresh_token, started)
        return valid and (request.user is None or request.user.is_active)

    def save_bearer_token(self, token, request, *args, **kwargs):
        super().save_bearer_token(token, request, *args, **kwargs)
        # Every grant's tokens are saved here; those of the authorization endpoint
        # (the implicit grant, OpenID Connect's hybrid flow) come with no grant_type.
        metrics.tokens_issued.labels(grant_type=request.grant_type or "implicit").inc()

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        revoked = revocable_type(token, request.client)
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        if revoked is not None:
            metrics.revocations.labels(token_type=revoked, by=metrics.BY_CLIENT).inc()

    def _get_key_for_token(self, token):
        # DOT reads an ID token's unverified payload as a JSON object naming its
        # audience (RP-initiated logout's id_token_hint): another payload (not
        # JSON, a number, an audience that is no string) is no token of ours, not a 500.
        try:
            return super()._get_key_for_token(token)
        except (ValueError, TypeError):
            return None

    # OpenID Connect Core §3.1.2.1, prompt=none: no page may be shown. DOT
    # implements neither check (oauthlib's NotImplementedError, a 500), and the
    # session is not within the validator's reach: the answer is login_required,
    # and the client signs the user in with a page.
    def validate_silent_login(self, request):
        return False

    def validate_silent_authorization(self, request):
        return False

    # OpenID Connect Core §5.1, for the scopes DOT's oidc_claim_scope maps them to.
    # Without a request parameter, DOT lists these in discovery's claims_supported
    # and calls each with the request. Django's user has no updated_at, and
    # nothing here proves an address is the user's: email_verified is false.
    def get_additional_claims(self):
        return {
            "sub": lambda request: str(Subject.of(request.user).value),
            "name": lambda request: request.user.get_full_name(),
            "given_name": lambda request: request.user.first_name,
            "family_name": lambda request: request.user.last_name,
            "preferred_username": lambda request: request.user.get_username(),
            "email": lambda request: request.user.email,
            "email_verified": lambda request: False if request.user.email else None,
        }

    def refresh_id_token(self, request):
        # A refresh token granted `openid` while its client could receive ID tokens:
        # after its algorithm is removed, DOT's signing is ImproperlyConfigured (a
        # 500). The access token is refreshed without an ID token instead.
        return receives_id_tokens(request.client)

    def get_userinfo_claims(self, request):
        # A token of the client credentials grant has no user to describe (DOT
        # reads the user's claims regardless: a 500). Before the OpenID Connect
        # scopes were kept to clients that sign users in, such a token could have `openid`.
        if request.user is None:
            raise InvalidTokenError(description="The access token was issued for no user.", request=request)
        return super().get_userinfo_claims(request)

    def get_oidc_claims(self, token, token_handler, request):
        # OpenID Connect Core §5.3.2: a claim with no value is omitted, not sent empty.
        claims = super().get_oidc_claims(token, token_handler, request)
        return {name: value for name, value in claims.items() if value not in (None, "")}
