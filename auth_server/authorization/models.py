import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from oauth2_provider.settings import oauth2_settings


class ResourceServer(models.Model):
    """A client that is allowed to call the introspection endpoint.

    RFC 7662 §4: the AS "SHOULD require" each protected resource to be
    specifically authorized to introspect. DOT 3.4.1 lets any confidential client
    introspect any token (DOT#1451); only enabled clients registered here may,
    with their credentials or with a bearer token issued to them.
    """

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="resource_server"
    )
    # DOT's Application has no such flag: this cuts a resource server off without
    # deleting its client, its tokens or its registration.
    enabled = models.BooleanField(default=True, help_text="A disabled resource server may not introspect.")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"resource server {self.application}"

    @classmethod
    def may_introspect(cls, application) -> bool:
        return application is not None and cls.objects.filter(application=application, enabled=True).exists()


class Subject(models.Model):
    """The ``sub`` this issuer gives one user or one client (RFC 7662 §2.2, RFC 7519 §4.1.2).

    Unique across users and clients (a client whose client_id is a user's primary
    key no longer shares that user's subject), stable while its user or client
    lives, and never reused: the row outlives what it names.
    """

    value = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="subject"
    )
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="subject"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(user__isnull=False, application__isnull=False),
                name="subject_of_a_user_or_a_client",
            )
        ]

    def __str__(self):
        return str(self.value)

    @classmethod
    def of(cls, owner) -> "Subject":
        """The subject of a user or a client, created on first use."""
        try:
            return owner.subject
        except cls.DoesNotExist:
            # Users and clients created without signals (bulk_create, raw SQL) get theirs here.
            field = "user" if isinstance(owner, get_user_model()) else "application"
            return cls.objects.get_or_create(**{field: owner})[0]
