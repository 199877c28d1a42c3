"""DOT's authorization and token endpoints, refusing with a 4xx what DOT 3.4.1 answers with a 500."""

from django.http import JsonResponse
from oauth2_provider import views
from oauth2_provider.exceptions import FatalClientError
from oauth2_provider.models import get_access_token_model, get_application_model
from oauthlib.oauth2.rfc6749.errors import InvalidClientIdError

from . import resource_indicators

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class AuthorizationView(views.AuthorizationView):
    def form_valid(self, form):
        # The consent form's hidden fields come back from the browser. DOT looks
        # the client up with get() (DoesNotExist) and parses each resource with
        # urlsplit (ValueError): a changed form is refused here instead.
        if not get_application_model().objects.filter(client_id=form.cleaned_data["client_id"]).exists():
            return self.error_response(FatalClientError(error=InvalidClientIdError()), application=None)
        resource = resource_indicators.unparsable(form.cleaned_data.get("resource", "").split())
        if resource is not None:
            error = FatalClientError(error=resource_indicators.invalid_target(resource))
            return self.error_response(error, application=None)
        return super().form_valid(form)


def token_error(error: str, description: str) -> JsonResponse:
    return JsonResponse(
        {"error": error, "error_description": description}, status=400, headers={"Cache-Control": "no-store"}
    )


class TokenView(views.TokenView):
    def post(self, request, *args, **kwargs):
        # RFC 8628 §3.4: device_code is required; DOT reads it unchecked (KeyError).
        if request.POST.get("grant_type") == DEVICE_CODE_GRANT and not request.POST.get("device_code"):
            return token_error("invalid_request", "The device_code parameter is missing.")
        try:
            return super().post(request, *args, **kwargs)
        except get_access_token_model().DoesNotExist:
            # One refresh token sent twice at once: the other request's reuse
            # protection (RFC 9700 §4.14.2) revoked the whole family, deleting the
            # token this one had just issued before DOT reads it back.
            return token_error("invalid_grant", "The refresh token was used twice; its token family is revoked.")
