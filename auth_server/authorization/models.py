from django.db import models
from oauth2_provider.settings import oauth2_settings


class ResourceServer(models.Model):
    """A client that is allowed to call the introspection endpoint.

    RFC 7662 §4: the AS "SHOULD require" each protected resource to be
    specifically authorized to introspect. DOT 3.4.1 lets any confidential client
    introspect any token (DOT#1451); only clients registered here may.
    """

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="resource_server"
    )
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"resource server {self.application}"

    @classmethod
    def is_registered(cls, application) -> bool:
        return application is not None and cls.objects.filter(application=application).exists()
