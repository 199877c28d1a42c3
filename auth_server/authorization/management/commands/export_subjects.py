"""Print how each user's and client's old ``sub`` maps to its subject, as JSON.

Before subjects, a user's ``sub`` was its primary key and a client's its
client_id. Data a resource server keeps by ``sub`` moves to the new values with
this mapping: ``manage.py export_subjects > subjects.json`` here, then
``manage.py rewrite_owners subjects.json`` at the resource server.
"""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from oauth2_provider.models import get_application_model

from authorization.models import Subject


class Command(BaseCommand):
    help = "Print the mapping of old sub values (user pk, client_id) to subjects, as JSON."

    def handle(self, *args, **options):
        users = get_user_model().objects.select_related("subject").order_by("pk")
        clients = get_application_model().objects.select_related("subject").order_by("pk")
        subjects = [
            *({"kind": "user", "old": str(user.pk), "new": str(Subject.of(user).value)} for user in users),
            *({"kind": "client", "old": app.client_id, "new": str(Subject.of(app).value)} for app in clients),
        ]
        self.stdout.write(json.dumps({"subjects": subjects}, indent=2))
