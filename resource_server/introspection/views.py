from django.http import JsonResponse
from django.views.decorators.http import require_GET

from .conf import introspection_settings


@require_GET
def protected_resource_metadata(request):
    """RFC 9728 §3: who issues tokens for this resource and how to send them.

    ``resource`` is the configured identifier, the audience tokens must name
    (§3.3: it must equal the identifier the metadata URL was formed from).
    """
    return JsonResponse(
        {
            "resource": introspection_settings.RESOURCE,
            "authorization_servers": introspection_settings.AUTHORIZATION_SERVERS,
            "scopes_supported": introspection_settings.SCOPES,
            "bearer_methods_supported": ["header"],
        }
    )
