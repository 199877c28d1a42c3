"""Deactivating users so that every API is told.

Saving a user with ``is_active`` False announces it (authorization.signals):
the admin's change form, this module, ``manage.py deactivate_user``. A queryset
``update(is_active=False)`` sends no signal and so tells no API, which keep
trusting the user's cached answers for their caching window.
"""

from django.db import transaction


@transaction.atomic
def deactivate(users) -> list:
    """Deactivate the active users of the queryset ``users``, saving each so that it is announced; those changed."""
    # One transaction: all or none, and their notices go out together once it commits.
    changed = list(users.filter(is_active=True).order_by("pk"))
    for user in changed:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return changed
