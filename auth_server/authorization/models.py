import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from oauth2_provider.settings import oauth2_settings

from . import validators


class ResourceServerQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(enabled=True)

    def scope_owners(self) -> dict[str, "ResourceServer"]:
        """Each scope of these APIs, with the API that owns it."""
        return {scope: api for api in self for scope in api.scope_list}


class ResourceServer(models.Model):
    """An API registered at this issuer: its client, its resource identifier and its scopes.

    RFC 7662 §4: the AS "SHOULD require" each protected resource to be
    specifically authorized to introspect. DOT 3.4.1 lets any confidential client
    introspect any token (DOT#1451); only enabled clients registered here may,
    with their credentials or with a bearer token issued to them.

    RFC 8707: ``resource`` is the identifier clients ask tokens for; a token bound
    to it may carry the API's ``scopes``, and only this API learns about it by
    introspection. A scope belongs to one API.
    """

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="resource_server"
    )
    name = models.CharField(max_length=255, blank=True, help_text="Shown to users on the consent page.")
    # Null for a registration made before resource identifiers existed: such an
    # API owns its scopes, but no token can be asked for it by `resource`.
    resource = models.CharField(
        max_length=2000,
        unique=True,
        null=True,
        blank=True,
        validators=[validators.validate_resource_identifier],
        help_text="RFC 8707 resource identifier (audience), compared exactly, e.g. https://api.example.com/",
    )
    scopes = models.TextField(
        blank=True,
        validators=[validators.validate_scope_names],
        help_text="Space-separated scopes this API owns; a scope belongs to one API.",
    )
    # DOT's Application has no such flag: this cuts a resource server off without
    # deleting its client, its tokens or its registration.
    enabled = models.BooleanField(default=True, help_text="A disabled resource server may not introspect.")
    # RFC 8935 push delivery: where this AS posts its Security Event Tokens
    # (authorization.security_events), so the API stops trusting cached answers.
    # A CharField: the URLField's validator refuses a Compose service's host name.
    events_endpoint = models.CharField(
        max_length=2000,
        blank=True,
        default="",
        validators=[validators.validate_events_endpoint],
        help_text="Where it receives revocation notices (RFC 8935 push of Security Event Tokens), "
        "e.g. https://api.example.com/security-events/; empty: none, its caching window bounds revocation.",
    )
    created = models.DateTimeField(auto_now_add=True)

    objects = ResourceServerQuerySet.as_manager()

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.resource or self.application.client_id

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    def clean(self):
        # Unique across APIs: a token's scope must say which API it is for.
        taken = ResourceServer.objects.exclude(pk=self.pk).scope_owners()
        shared = [scope for scope in self.scope_list if scope in taken]
        if shared:
            owners = ", ".join(f"{scope} ({taken[scope]})" for scope in shared)
            raise ValidationError({"scopes": f"Already owned by another API: {owners}."})

    @classmethod
    def may_introspect(cls, application) -> bool:
        return cls.of(application) is not None

    @classmethod
    def of(cls, application) -> "ResourceServer | None":
        """The enabled registration of ``application``, if it has one."""
        if application is None:
            return None
        registration = cls.objects.enabled().filter(application=application).first()
        if registration is not None:
            registration.application = application  # in hand already: naming its client_id costs no query
        return registration


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
