"""DOT's authorization and token endpoints, refusing with a 4xx what DOT 3.4.1 answers with a 500."""

from django.http import JsonResponse
from oauth2_provider import views
from oauth2_provider.exceptions import FatalClientError
from oauth2_provider.models import get_access_token_model, get_application_model
from oauth2_provider.scopes import get_scopes_backend
from oauthlib.oauth2.rfc6749.errors import InvalidClientIdError

from . import resource_indicators
from .models import ResourceServer

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# The heading of scopes no API owns: the issuer's own, such as `introspection`.
ISSUER_HEADING = "This authorization server"


def scopes_by_api(scopes: list[str]) -> list[dict]:
    """The requested scopes grouped by the API that owns them, in the order requested, for the consent page."""
    owners = ResourceServer.objects.enabled().scope_owners()
    descriptions = get_scopes_backend().get_all_scopes()
    groups = {}
    for scope in scopes:
        api = owners.get(scope)
        group = groups.setdefault(
            api, {"name": api.display_name if api else ISSUER_HEADING, "resource": api and api.resource, "scopes": []}
        )
        group["scopes"].append((scope, descriptions.get(scope, scope)))
    return list(groups.values())


class AuthorizationView(views.AuthorizationView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "scopes" in kwargs:  # the consent page, not an error page
            context["apis"] = scopes_by_api(kwargs["scopes"])
        return context

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
