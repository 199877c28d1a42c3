"""The probes Kubernetes asks (shared/health.py): /livez without the database, /readyz with it."""

from unittest import mock

from django.db import OperationalError, connection, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import TestCase, override_settings

from shared import health
from shared.settings import https_settings

UNREACHABLE = {"status": "unavailable", "database": "unreachable"}
UNAPPLIED = {"status": "unavailable", "migrations": "unapplied"}


def database_down():
    """Every connection attempt fails, as it does when PostgreSQL is down."""
    return mock.patch.object(connections["default"], "ensure_connection", side_effect=OperationalError("down"))


class ProbeTests(TestCase):
    def setUp(self):
        # A fresh process: it has not yet seen its migrations applied.
        patcher = mock.patch.object(health, "_migrated", False)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_livez_answers_without_the_database(self):
        with self.assertNumQueries(0), database_down() as connect:
            response = self.client.get("/livez")

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"status": "ok"})
        connect.assert_not_called()

    def test_readyz_answers_when_migrated(self):
        response = self.client.get("/readyz")

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"status": "ok"})

    def test_readyz_refuses_with_the_database_down(self):
        with database_down():
            response = self.client.get("/readyz")

        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json(), UNREACHABLE)

    def test_readyz_refuses_with_a_migration_unapplied(self):
        # The newest migration, as a release that adds one finds it before its Job ran.
        (newest,) = MigrationLoader(connection).graph.leaf_nodes("authorization")
        recorder = MigrationRecorder(connection)
        recorder.record_unapplied(*newest)

        refused = [self.client.get("/readyz") for _ in range(2)]
        recorder.record_applied(*newest)
        ready = self.client.get("/readyz")

        self.assertEqual([response.status_code for response in refused], [503, 503])
        self.assertEqual(refused[0].json(), UNAPPLIED)
        # Not remembered while false: the release's migration Job may finish any moment.
        self.assertEqual(ready.status_code, 200)

    def test_readyz_remembers_migrations_applied(self):
        self.client.get("/readyz")

        with self.assertNumQueries(1):
            response = self.client.get("/readyz")
        self.assertEqual(response.status_code, 200)
        # Remembered are the migrations, not the database: an outage still refuses.
        with database_down():
            self.assertEqual(self.client.get("/readyz").json(), UNREACHABLE)

    @override_settings(**https_settings(True))
    def test_probes_answer_over_plain_http_behind_tls(self):
        # Kubelet probes speak plain HTTP to the pod, without X-Forwarded-Proto.
        self.assertEqual(self.client.get("/accounts/login/").status_code, 301)
        for path in ("/livez", "/readyz"):
            self.assertEqual(self.client.get(path).status_code, 200, path)

    def test_probes_answer_get_only(self):
        for path in ("/livez", "/readyz"):
            self.assertEqual(self.client.post(path).status_code, 405, path)
