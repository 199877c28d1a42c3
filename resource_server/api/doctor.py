"""This API's own ``manage.py doctor`` check: what its data needs from an upgrade."""

import uuid

from django.db import DatabaseError

from api.models import Note
from shared.doctor import UPGRADING, Skipped, Wrong


def note_owners() -> str:
    """Notes still owned by a ``sub`` of before subjects (a user's primary key), not a subject (a UUID)."""
    old = 0
    try:
        for owner in Note.objects.values_list("owner", flat=True).distinct().iterator():
            try:
                uuid.UUID(owner)
            except ValueError:
                old += 1
    except DatabaseError:
        raise Skipped("the notes cannot be read (see the migrations)") from None
    if old:
        raise Wrong(
            f"notes: {old} owner(s) are not subjects: run export_subjects at the authorization server, "
            f"then rewrite_owners here ({UPGRADING})"
        )
    return "every owner is a subject"
