from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import never_cache
from oauth2_provider import views as oauth2_views

from authorization import oidc, views
from authorization.introspection import IntrospectTokenView
from authorization.views import AuthorizationView, TokenView
from shared.health import healthz, livez, readyz

# DOT's endpoints under /o/, with introspection replaced by the resource-server-only
# view, authorization and token by views that refuse bad input with a 4xx, and
# RFC 8414 metadata and OpenID Connect discovery at the origin's root as the
# specifications require. One namespace, so DOT's metadata views can reverse
# every endpoint they advertise.
oauth2_endpoints = (
    [
        path(
            ".well-known/oauth-authorization-server",
            oidc.ServerMetadataView.as_view(),
            name="oauth-server-metadata",
        ),
        # OpenID Connect Discovery §4: the issuer is the origin, so its document is
        # at the root. DOT derives the issuer from this URL name when OAUTH_ISSUER
        # is empty: named here, it is the origin, as in RFC 8414 metadata.
        path(
            ".well-known/openid-configuration",
            oidc.DiscoveryView.as_view(),
            name="oidc-connect-discovery-info",
        ),
        # And where clients that add it to DOT's prefix look.
        path("o/.well-known/openid-configuration", oidc.DiscoveryView.as_view()),
        path("o/.well-known/jwks.json", oauth2_views.JwksInfoView.as_view(), name="jwks-info"),
        path("o/userinfo/", oidc.UserInfoView.as_view(), name="user-info"),
        path("o/logout/", oidc.LogoutView.as_view(), name="rp-initiated-logout"),
        path("o/authorize/", AuthorizationView.as_view(), name="authorize"),
        path("o/token/", TokenView.as_view(), name="token"),
        path("o/revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"),
        path("o/introspect/", IntrospectTokenView.as_view(), name="introspect"),
        # The apps a user allowed, and revoking one: DOT's views, our pages.
        path("o/authorized_tokens/", views.AuthorizedAppsView.as_view(), name="authorized-token-list"),
        path(
            "o/authorized_tokens/<int:pk>/delete/",
            never_cache(oauth2_views.AuthorizedTokenDeleteView.as_view()),
            name="authorized-token-delete",
        ),
    ],
    "oauth2_provider",
)

urlpatterns = [
    path("", include(oauth2_endpoints)),
    # Signing in and out, the account page and password reset.
    path("accounts/", include("authorization.pages_urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
]

# The error pages carry the request id; Django's own 500 view renders without context.
handler500 = "authorization.pages.server_error"
