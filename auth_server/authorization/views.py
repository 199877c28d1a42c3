"""DOT's authorization and token endpoints, refusing with a 4xx what DOT 3.4.1 answers with a 500,
and the pages around signing in: sign-in, sign-out, the account page and the apps a user allowed.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView
from oauth2_provider import views
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.models import get_access_token_model, get_application_model
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749.errors import InvalidClientIdError, MissingRedirectURIError

from . import branding, loopback, pages, resource_indicators
from .models import ResourceServer

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# The heading of scopes no API owns: the issuer's own (`openid`, `profile`, `email`).
ISSUER_HEADING = f"Your {branding.NAME} account"


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


def with_issuer(uri: str, issuer: str) -> str:
    """``uri`` with RFC 9207's ``iss`` as its only ``iss`` query parameter."""
    parts = urlsplit(uri)
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name != "iss"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("iss", issuer)])))


def verified_redirect_uri(authorization_url: str) -> str | None:
    """The redirect URI an authorization request at our endpoint will end on, if its client registered it."""
    parts = urlsplit(authorization_url)
    if parts.path != reverse("oauth2_provider:authorize"):
        return None
    query = dict(parse_qsl(parts.query))
    application = get_application_model().objects.filter(client_id=query.get("client_id", "")).first()
    if application is None:
        return None
    try:
        redirect_uri = query.get("redirect_uri") or application.default_redirect_uri
        allowed = application.redirect_uri_allowed(redirect_uri)
    except MissingRedirectURIError:  # none given, and the client has no single one to default to
        return None
    except ValueError:  # DOT's urlsplit of a URI that does not parse ("http://[::1")
        return None
    return redirect_uri if allowed else None


@method_decorator(never_cache, name="dispatch")
class AuthorizationView(views.AuthorizationView):
    def handle_no_permission(self):
        # DOT asks an anonymous user to sign in before it reads the request. An
        # unknown client or an unregistered redirect URI is shown now instead,
        # before anyone types a password for it; DOT never redirects those
        # (FatalClientError), and other errors go to the verified redirect URI.
        if self.request.method in ("GET", "HEAD"):
            try:
                self.validate_authorization_request(self.request)
            except OAuthToolkitError as error:
                return self.error_response(error, application=None)
        return super().handle_no_permission()

    def redirect(self, redirect_to, application):
        # RFC 9207 §2: the authorization response carries `iss`, an error response
        # too. DOT 3.4 adds it to successful responses only. Fragment responses
        # (the implicit grant) are DOT's alone, which adds it there.
        if oauth2_settings.COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS and not urlsplit(redirect_to).fragment:
            redirect_to = with_issuer(redirect_to, oauth2_settings.oauth2_authorization_server_issuer(self.request))
        # Plain http to a loopback IP literal is allowed too (RFC 8252 §7.3; authorization.loopback).
        return super().redirect(redirect_to, loopback.LoopbackClient(application, redirect_to))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "scopes" in kwargs:  # the consent page, not an error page
            context["apis"] = scopes_by_api(kwargs["scopes"])
            context["redirect_origin"] = pages.origin(kwargs["redirect_uri"]) or kwargs["redirect_uri"]
        return context

    def render_to_response(self, context, **response_kwargs):
        if "error" in context:
            context["problem"] = pages.problem(context["error"])
        response = super().render_to_response(context, **response_kwargs)
        if "redirect_uri" in context:  # verified by oauthlib before the consent page
            pages.allow_form_action(response, context["redirect_uri"])
        return response

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


class SignInView(auth_views.LoginView):
    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        # After signing in, the authorization request may end on the client at
        # once (consent remembered, or skipped for the client): a redirect that
        # Chromium holds to this form's form-action.
        destination = verified_redirect_uri(self.get_redirect_url())
        if destination is not None:
            pages.allow_form_action(response, destination)
        return response


class SignOutView(auth_views.LogoutView):
    """GET asks (a page with a button); POST signs out, as Django requires, and says so.

    Signing out on a GET would let any page sign its visitors out with an <img>.
    """

    http_method_names = ["get", "post", "options"]
    template_name = "authorization/signed_out.html"

    def get(self, request, *args, **kwargs):
        context = {"next": self.get_redirect_url(), "redirect_field_name": self.redirect_field_name}
        return TemplateResponse(request, "authorization/sign_out.html", context)


@method_decorator(never_cache, name="dispatch")
class AccountView(LoginRequiredMixin, TemplateView):
    """Where signing in without an app leads: who is signed in, and what they can do here."""

    template_name = "authorization/account.html"


@method_decorator(never_cache, name="dispatch")
class AuthorizedAppsView(views.AuthorizedTokensListView):
    """DOT's list of a user's tokens, grouped by app on the page."""

    def get_queryset(self):
        return super().get_queryset().order_by("application__name", "application_id", "-created")
