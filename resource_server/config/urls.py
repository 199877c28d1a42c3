from django.urls import include, path

from introspection.views import protected_resource_metadata
from shared.health import healthz

urlpatterns = [
    path("api/", include("api.urls")),
    path(
        ".well-known/oauth-protected-resource",
        protected_resource_metadata,
        name="oauth-protected-resource",
    ),
    path("healthz", healthz, name="healthz"),
]
