from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from oauth2_provider import views as oauth2_views

from authorization.introspection import IntrospectTokenView
from authorization.views import AuthorizationView, TokenView
from shared.health import healthz

# DOT's endpoints under /o/, with introspection replaced by the resource-server-only
# view, authorization and token by views that refuse bad input with a 4xx, and
# RFC 8414 metadata at the origin's root as the RFC requires. One namespace, so
# DOT's metadata view can reverse every endpoint it advertises.
oauth2_endpoints = (
    [
        path(
            ".well-known/oauth-authorization-server",
            oauth2_views.OAuthServerMetadataView.as_view(),
            name="oauth-server-metadata",
        ),
        path("o/authorize/", AuthorizationView.as_view(), name="authorize"),
        path("o/token/", TokenView.as_view(), name="token"),
        path("o/revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"),
        path("o/introspect/", IntrospectTokenView.as_view(), name="introspect"),
    ],
    "oauth2_provider",
)

urlpatterns = [
    path("", include(oauth2_endpoints)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
