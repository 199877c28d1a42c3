import importlib
import json
from io import StringIO

from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError
from django.test import TestCase

from authorization.models import Subject

from . import factories

create_subjects = importlib.import_module(
    "authorization.migrations.0003_subjects_of_existing_users_and_clients"
).create_subjects


class SubjectTests(TestCase):
    def test_new_users_and_clients_get_distinct_subjects(self):
        user = factories.user()
        app = factories.application(str(user.pk))

        self.assertNotEqual(user.subject.value, app.subject.value)
        self.assertEqual(Subject.objects.count(), 2)

    def test_a_subject_outlives_its_user_and_is_never_reused(self):
        user = factories.user()
        value = user.subject.value
        user.delete()

        successor = factories.user()

        self.assertTrue(Subject.objects.filter(value=value, user=None, application=None).exists())
        self.assertNotEqual(successor.subject.value, value)

    def test_a_subject_names_a_user_or_a_client_never_both(self):
        user = factories.user()
        app = factories.application("machine")

        with self.assertRaises(IntegrityError):
            Subject.objects.filter(pk=user.subject.pk).update(application=app)

    def test_the_migration_gives_every_user_and_client_without_one_a_subject(self):
        user = factories.user()
        app = factories.application("machine")
        kept = app.subject.value
        Subject.objects.filter(user=user).delete()

        create_subjects(apps, None)

        self.assertTrue(Subject.objects.filter(user=user).exists())
        self.assertEqual(Subject.objects.get(application=app).value, kept)
        self.assertEqual(Subject.objects.count(), 2)


class ExportSubjectsTests(TestCase):
    def test_prints_each_old_sub_with_its_kind_and_subject(self):
        user = factories.user()
        app = factories.application(str(user.pk))
        out = StringIO()

        call_command("export_subjects", stdout=out)

        self.assertEqual(
            json.loads(out.getvalue()),
            {
                "subjects": [
                    {"kind": "user", "old": str(user.pk), "new": str(user.subject.value)},
                    {"kind": "client", "old": str(user.pk), "new": str(app.subject.value)},
                ]
            },
        )
