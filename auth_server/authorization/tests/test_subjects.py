import importlib
import json
from io import StringIO

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError
from django.test import TestCase
from django.urls import reverse

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


class SubjectAdminTests(TestCase):
    def setUp(self):
        self.admin = get_user_model().objects.create_superuser("admin", password="an admin password")
        self.client.force_login(self.admin)

    def test_subjects_are_listed_and_cannot_be_changed_or_deleted(self):
        user = factories.user()
        subject = user.subject

        listed = self.client.get(reverse("admin:authorization_subject_changelist"))
        deleted = self.client.post(reverse("admin:authorization_subject_delete", args=[subject.pk]), {"post": "yes"})

        self.assertContains(listed, str(subject.value))
        self.assertEqual(deleted.status_code, 403)
        self.assertTrue(Subject.objects.filter(pk=subject.pk).exists())

    def test_deleting_a_user_in_the_admin_keeps_its_subject(self):
        user = factories.user()
        value = user.subject.value

        response = self.client.post(reverse("admin:auth_user_delete", args=[user.pk]), {"post": "yes"})

        self.assertEqual(response.status_code, 302)
        self.assertTrue(Subject.objects.filter(value=value, user=None).exists())
