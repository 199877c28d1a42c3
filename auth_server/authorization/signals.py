"""What model changes do beyond saving: subjects for new users and clients, and revocation notices.

Notices (authorization.security_events) follow the rows, not the code paths
that change them: DOT deletes access tokens from AccessToken.revoke(),
RefreshToken.revoke(), RefreshToken.revoke_family() (a queryset delete) and
cascades (a user or a client deleted). Django sends post_delete for each row of
a queryset delete or a cascade when the model has a receiver, so every path is
seen here. A queryset ``update()`` sends no signal: users are deactivated
through ``authorization.accounts.deactivate`` (``manage.py deactivate_user``,
the admin), which saves each one.
"""

from django.conf import settings
from django.core.signals import request_finished
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

from . import metrics, security_events
from .hashers import check_client_secret
from .models import ResourceServer, Subject

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


def create_subject(sender, instance, created, raw, **kwargs):
    # raw: loaddata writes fixtures as they are; Subject.of() fills any gap on first use.
    if created and not raw:
        Subject.of(instance)


def stored(instance, update_fields, *names: str):
    """The row ``instance`` replaces, when this save may change one of ``names``; else None."""
    if instance._state.adding or (update_fields is not None and not set(names) & set(update_fields)):
        return None
    return type(instance)._default_manager.filter(pk=instance.pk).only(*names).first()


def access_token_deleted(sender, instance, **kwargs):
    if not instance.is_expired():  # an expired token is refused anyway
        security_events.record(security_events.token_revoked(instance))


def user_saving(sender, instance, raw, update_fields, **kwargs):
    if raw or instance.is_active:
        return
    old = stored(instance, update_fields, "is_active")
    if old is not None and old.is_active:
        security_events.record(security_events.account_disabled(instance))


def user_deleting(sender, instance, **kwargs):
    # Its tokens go with it (cascade): one subject notice covers them all. A user
    # without a subject was never named to an API, so its token notices stay.
    if hasattr(instance, "subject"):  # a missing reverse one-to-one raises an AttributeError
        security_events.record(security_events.account_disabled(instance))


def client_saving(sender, instance, raw, update_fields, **kwargs):
    """Marks a client whose secret changes to a different one; a rehash of the same secret is no rotation."""
    old = None if raw else stored(instance, update_fields, "client_secret")
    instance._secret_rotated = (
        old is not None
        and instance.client_secret != old.client_secret
        and not check_client_secret(instance.client_secret, old.client_secret)
    )


def client_saved(sender, instance, created, raw, **kwargs):
    if not getattr(instance, "_secret_rotated", False):
        return
    instance._secret_rotated = False
    # A new secret means the old one may have leaked: what it obtained goes too.
    # One transaction: the notice and the token deletions it covers are one batch.
    with transaction.atomic():
        security_events.record(security_events.credential_changed(instance, "update"))
        now = timezone.now()
        # As RefreshToken.revoke_family() does it: set-based, revoked rows kept for reuse detection.
        refresh_tokens = RefreshToken.objects.filter(application=instance, revoked__isnull=True)
        revoked = {metrics.REFRESH_TOKEN: refresh_tokens.update(revoked=now, updated=now)}
        _, deleted = AccessToken.objects.filter(application=instance).delete()
        revoked[metrics.ACCESS_TOKEN] = deleted.get(AccessToken._meta.label, 0)
    for token_type, count in revoked.items():
        metrics.revocations.labels(token_type=token_type, by=metrics.BY_ISSUER).inc(count)


def client_deleting(sender, instance, **kwargs):
    # Its tokens go with it (cascade): this notice covers them. Its own API
    # registration, if any, is told by api_deleting.
    security_events.record(security_events.credential_changed(instance, "delete"))


def api_saving(sender, instance, raw, update_fields, **kwargs):
    if raw or instance.enabled:
        return
    old = stored(instance, update_fields, "enabled", "resource", "events_endpoint")
    if old is not None and old.enabled:
        notify_api(old)


def api_deleting(sender, instance, **kwargs):
    if instance.enabled:  # a disabled API was told when it was disabled
        notify_api(instance)


def notify_api(api):
    event = security_events.stream_disabled(api)
    if event is not None:
        security_events.record(event)


def connect() -> None:
    for model in (settings.AUTH_USER_MODEL, oauth2_settings.APPLICATION_MODEL):
        post_save.connect(create_subject, sender=model, dispatch_uid=f"authorization.subject.{model}")
    receivers = [
        (post_delete, access_token_deleted, AccessToken),
        (pre_save, user_saving, settings.AUTH_USER_MODEL),
        (pre_delete, user_deleting, settings.AUTH_USER_MODEL),
        (pre_save, client_saving, oauth2_settings.APPLICATION_MODEL),
        (post_save, client_saved, oauth2_settings.APPLICATION_MODEL),
        (pre_delete, client_deleting, oauth2_settings.APPLICATION_MODEL),
        (pre_save, api_saving, ResourceServer),
        (pre_delete, api_deleting, ResourceServer),
    ]
    for signal, receiver, model in receivers:
        signal.connect(receiver, sender=model, dispatch_uid=f"authorization.security_events.{receiver.__name__}")
    # What a rolled-back last event left in this thread's outbox goes out once the request ends.
    request_finished.connect(security_events.outbox.send, weak=False, dispatch_uid="authorization.security_events")
