from django.urls import include, path

from introspection.conf import introspection_settings
from introspection.resource import metadata_path
from introspection.security_events import receive as receive_security_events
from introspection.views import protected_resource_metadata
from shared.health import healthz, livez, readyz

urlpatterns = [
    path("api/", include("api.urls")),
    # RFC 9728 §3.1: where the configured resource identifier puts the metadata.
    path(
        metadata_path(introspection_settings.RESOURCE).removeprefix("/"),
        protected_resource_metadata,
        name="oauth-protected-resource",
    ),
    # RFC 8935: the authorization server pushes its revocation notices here.
    path("security-events/", receive_security_events, name="security-events"),
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
]
