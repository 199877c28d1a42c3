"""Every new user and client gets its subject when it is created."""

from django.conf import settings
from django.db.models.signals import post_save
from oauth2_provider.settings import oauth2_settings

from .models import Subject


def create_subject(sender, instance, created, raw, **kwargs):
    # raw: loaddata writes fixtures as they are; Subject.of() fills any gap on first use.
    if created and not raw:
        Subject.of(instance)


def connect() -> None:
    for model in (settings.AUTH_USER_MODEL, oauth2_settings.APPLICATION_MODEL):
        post_save.connect(create_subject, sender=model, dispatch_uid=f"authorization.subject.{model}")
