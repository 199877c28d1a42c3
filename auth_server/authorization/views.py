"""DOT's authorization and token endpoints, refusing with a 4xx what DOT 3.4.1 answers with a 500."""

from django.http import JsonResponse
from oauth2_provider import views
from oauth2_provider.exceptions import FatalClientError
from oauth2_provider.models import get_application_model
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


class TokenView(views.TokenView):
    def post(self, request, *args, **kwargs):
        # RFC 8628 §3.4: device_code is required; DOT reads it unchecked (KeyError).
        if request.POST.get("grant_type") == DEVICE_CODE_GRANT and not request.POST.get("device_code"):
            return JsonResponse(
                {"error": "invalid_request", "error_description": "The device_code parameter is missing."},
                status=400,
                headers={"Cache-Control": "no-store"},
            )
        return super().post(request, *args, **kwargs)
