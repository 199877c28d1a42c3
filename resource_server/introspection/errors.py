"""RFC 6750 §3 errors of the resource server, with their challenges.

They are DRF exceptions carrying their own ``WWW-Authenticate`` header: DRF can
otherwise not send 403 with an ``insufficient_scope`` challenge
(encode/django-rest-framework#8263), and DOT's classes answer every failure with
a bare 401 "credentials were not provided" (DOT#367, #453, #1418).
"""

from django.http import JsonResponse
from rest_framework import exceptions, status

from shared import request_id

from . import metrics
from .conf import introspection_settings
from .resource import metadata_url


def challenge(**attributes: str) -> str:
    """``Bearer realm=..., resource_metadata=...`` plus any error attributes."""
    params = {
        "realm": introspection_settings.REALM,
        **attributes,
        # RFC 9728 §5.1: point the client at the protected resource's metadata,
        # at the URL its configured identifier gives (§3.1), whatever Host was asked.
        "resource_metadata": metadata_url(introspection_settings.RESOURCE),
    }
    return "Bearer " + ", ".join(f'{name}="{value}"' for name, value in params.items())


class BearerTokenError(exceptions.APIException):
    error: str

    def __init__(self, description: str, **attributes: str):
        super().__init__({"error": self.error, "error_description": description})
        self.auth_header = challenge(error=self.error, error_description=description, **attributes)
        # Raised once per refused request, and answered (DRF's exception handler, error_response).
        metrics.refused(self.error)


class InvalidRequest(BearerTokenError):
    status_code = status.HTTP_400_BAD_REQUEST
    error = "invalid_request"


class InvalidToken(BearerTokenError):
    status_code = status.HTTP_401_UNAUTHORIZED
    error = "invalid_token"

    def __init__(self, description: str = "The access token is invalid, expired or revoked."):
        super().__init__(description)


class InsufficientScope(BearerTokenError):
    status_code = status.HTTP_403_FORBIDDEN
    error = "insufficient_scope"

    def __init__(self, rule):
        if not rule.alternatives:
            # RFC 6750 §3: ``scope`` names scopes that would do; here none would.
            super().__init__("No scope grants this HTTP method on this resource.")
        else:
            super().__init__(f"The access token needs the scopes {rule}.", scope=rule.first_alternative())


class MissingToken(exceptions.NotAuthenticated):
    """No access token: 401 with a challenge and no error code (RFC 6750 §3.1)."""

    def __init__(self):
        super().__init__()
        self.auth_header = challenge()


class IntrospectionUnavailable(exceptions.APIException):
    """The AS could not say whether the token is valid: not the client's fault.

    DOT 3.4.1 turns an AS outage into 401 invalid_token, telling clients to throw
    away good tokens; Spring answers 5xx (spring-security#7902). We answer 503 with
    Retry-After so the client retries the same token.
    """

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    wait = 5

    def __init__(self, reason: str):
        """``reason``: why, one of metrics.UNAVAILABLE_REASONS."""
        self.reason = reason
        super().__init__(
            {
                "error": "temporarily_unavailable",
                "error_description": "The authorization server could not check the access token; retry later.",
            }
        )


def identified(body):
    """``body`` with the request's id as ``request_id``, next to RFC 6750 §3's members.

    A client quotes it when it reports a failure, and it finds the lines of both
    servers for that request (docs/operations.md). A list body, which DRF gives
    for a validation error raised with a list, has no place for it.
    """
    serving = request_id.current()
    if isinstance(body, dict) and serving:
        return {**body, "request_id": serving}
    return body


def error_response(error: exceptions.APIException) -> JsonResponse:
    """The same answer DRF's exception handler gives, for plain Django views."""
    detail = error.detail if isinstance(error.detail, dict) else {"detail": error.detail}
    response = JsonResponse(identified(detail), status=error.status_code)
    if getattr(error, "auth_header", None):
        response["WWW-Authenticate"] = error.auth_header
    if getattr(error, "wait", None):
        response["Retry-After"] = str(error.wait)
    return response
