from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def protected_resource_metadata(request):
    """RFC 9728 §3: who issues tokens for this resource and how to send them.

    ``resource`` is the configured identifier, the audience tokens must name
    (§3.3: it must equal the identifier the metadata URL was formed from).
    """
    return JsonResponse(
        {
            "resource": settings.RESOURCE_SERVER_RESOURCE,
            "authorization_servers": settings.RESOURCE_SERVER_AUTHORIZATION_SERVERS,
            "scopes_supported": settings.RESOURCE_SERVER_SCOPES_SUPPORTED,
            "bearer_methods_supported": ["header"],
        }
    )
