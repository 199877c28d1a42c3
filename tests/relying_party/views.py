"""Pages of the demo relying party: sign in at the AS, show who signed in, call the API, sign out."""

import json
import logging

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

logger = logging.getLogger(__name__)

oauth = OAuth()
provider = oauth.register(
    "issuer",
    client_id=settings.CLIENT_ID,
    client_secret=settings.CLIENT_SECRET,
    # OpenID Connect Discovery §4: the issuer's metadata, its endpoints and its JWKS.
    server_metadata_url=f"{settings.ISSUER}/.well-known/openid-configuration",
    # Authlib adds a nonce for the openid scope, and PKCE (RFC 7636) with S256. Each
    # call to the AS gives up after 10 s: an AS that hangs is an error page, not a hung worker.
    client_kwargs={"scope": settings.SCOPE, "code_challenge_method": "S256", "default_timeout": 10},
)


class ProviderError(Exception):
    """What went wrong with the AS, in words for the person at the browser."""

    def __init__(self, message: str, error: str = "", description: str = "", status: int = 502):
        super().__init__(message)
        self.message, self.error, self.description, self.status = message, error, description, status


def metadata() -> dict:
    try:
        loaded = provider.load_server_metadata()
    except requests.HTTPError as error:
        logger.warning("discovery at %s failed: %s", settings.ISSUER, error)
        status = error.response.status_code
        message = f"The sign-in service at {settings.ISSUER} has no OpenID Connect metadata (HTTP {status})."
        raise ProviderError(message) from None
    except (requests.RequestException, ValueError) as error:
        logger.warning("discovery at %s failed: %s", settings.ISSUER, error)
        raise ProviderError(f"The sign-in service at {settings.ISSUER} cannot be reached. Try again later.") from None
    # OpenID Connect Discovery §4.3: the metadata must name the issuer it was fetched from.
    if loaded.get("issuer") != settings.ISSUER:
        provider.server_metadata.clear()
        raise ProviderError(f"The sign-in service at {settings.ISSUER} names another issuer: {loaded.get('issuer')}.")
    return loaded


def error_page(request, problem: ProviderError):
    context = {"message": problem.message, "error": problem.error, "description": problem.description}
    return render(request, "relying_party/error.html", context, status=problem.status)


def content_security_policy(get_response):
    """No script at all; forms post here, and the sign-in forms are redirected to the AS (CSP3 form-action)."""

    def middleware(request):
        response = get_response(request)
        response["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self' data:; "
            f"form-action 'self' {settings.ISSUER}; base-uri 'none'; frame-ancestors 'none'"
        )
        response["Cache-Control"] = "no-store"
        return response

    return middleware


@require_GET
def stylesheet(request):
    return render(request, "relying_party/style.css", content_type="text/css")


@require_GET
def home(request):
    signed_out = False
    if "state" in request.GET:
        try:
            provider.validate_logout_response(request)
            signed_out = True
        except OAuthError:
            pass  # an old or forged link: the page is the same, without the message
    tokens = request.session.get("tokens")
    if not tokens:
        return render(request, "relying_party/home.html", {"signed_out": signed_out, "issuer": settings.ISSUER})
    try:
        metadata()
        userinfo = provider.userinfo(token=tokens)
    except ProviderError as problem:
        return error_page(request, problem)
    except requests.HTTPError as error:
        # OpenID Connect Core §5.3.3: an expired or revoked token; signing in again gives a new one.
        logger.warning("userinfo failed: %s", error)
        request.session.flush()
        status = error.response.status_code
        message = f"The sign-in service refused your access token for your profile (HTTP {status}). Sign in again."
        return error_page(request, ProviderError(message, status=401 if status == 401 else 502))
    except requests.RequestException as error:
        logger.warning("userinfo failed: %s", error)
        return error_page(request, ProviderError("The sign-in service did not answer for your profile. Try again."))
    context = {
        "name": userinfo.get("name") or userinfo.get("preferred_username") or userinfo["sub"],
        "userinfo": pretty(dict(userinfo)),
        "id_token_claims": pretty(tokens["id_token_claims"]),
        "api_url": f"{settings.API_URL}/api/me/",
        **call_api(tokens["access_token"]),
    }
    return render(request, "relying_party/signed_in.html", context)


def call_api(access_token: str) -> dict:
    url = f"{settings.API_URL}/api/me/"
    try:
        response = requests.get(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10)
    except requests.RequestException as error:
        logger.warning("the API at %s failed: %s", url, error)
        return {"api_status": None, "api_answer": f"The API at {url} cannot be reached."}
    try:
        answer = pretty(response.json())
    except ValueError:
        answer = response.text
    return {"api_status": response.status_code, "api_answer": answer}


def pretty(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True)


@require_POST
def sign_in(request):
    try:
        metadata()
        # RFC 8707: the access token is bound to the first API.
        return provider.authorize_redirect(request, settings.REDIRECT_URI, resource=settings.API_RESOURCE)
    except ProviderError as problem:
        return error_page(request, problem)


@require_GET
def callback(request):
    # RFC 9207 §2.4: an authorization response naming another issuer is refused (mix-up defence).
    issuer = request.GET.get("iss")
    if issuer is not None and issuer != settings.ISSUER:
        problem = ProviderError(f"The answer came from {issuer}, not from {settings.ISSUER}.", status=400)
        return error_page(request, problem)
    if request.GET.get("error") == "access_denied":
        problem = ProviderError("You did not allow the demo app to sign you in.", "access_denied", status=403)
        return error_page(request, problem)
    try:
        metadata()
        token = provider.authorize_access_token(request)
    except ProviderError as problem:
        return error_page(request, problem)
    except OAuthError as error:
        problem = ProviderError("Signing in did not complete.", error.error, error.description, status=400)
        return error_page(request, problem)
    except requests.RequestException as error:
        logger.warning("the token request failed: %s", error)
        return error_page(request, ProviderError("The sign-in service did not answer. Try again."))
    if "userinfo" not in token:
        return error_page(request, ProviderError("The sign-in service sent no ID token.", status=400))
    # Authlib verified the ID token (signature against the JWKS, iss, aud, exp, nonce).
    request.session.cycle_key()
    request.session["tokens"] = {
        "access_token": token["access_token"],
        "token_type": token["token_type"],
        "id_token": token["id_token"],
        "id_token_claims": dict(token["userinfo"]),
    }
    return redirect("home")


@require_POST
def sign_out(request):
    """Forget the tokens here, then end the session at the AS (OpenID Connect RP-Initiated Logout 1.0)."""
    tokens = request.session.get("tokens") or {}
    request.session.flush()
    try:
        end_session = metadata().get("end_session_endpoint")
    except ProviderError as problem:
        return error_page(request, problem)
    if not end_session:
        return redirect("home")
    return provider.logout_redirect(
        request,
        post_logout_redirect_uri=settings.POST_LOGOUT_REDIRECT_URI,
        id_token_hint=tokens.get("id_token"),
        client_id=settings.CLIENT_ID,
    )
