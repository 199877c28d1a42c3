"""The probes Kubernetes asks, as this API serves them.

shared/health.py's own rules (/livez without the database, /readyz's memo) are tested
once, in the AS's suite (authorization/tests/test_probes.py); here, what is the API's:
its migrations, its HTTPS redirect, and that neither probe asks the AS.
"""

from unittest import mock

import requests
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import TestCase, override_settings

from shared import health
from shared.settings import https_settings

PROBES = ("/livez", "/readyz")


class ProbeTests(TestCase):
    def setUp(self):
        # A fresh process: it has not yet seen its migrations applied.
        patcher = mock.patch.object(health, "_migrated", False)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_readyz_waits_for_the_apis_own_migrations(self):
        # A release adding a migration to the API finds it unapplied until its migrate Job ran.
        (newest,) = MigrationLoader(connection).graph.leaf_nodes("api")
        MigrationRecorder(connection).record_unapplied(*newest)

        response = self.client.get("/readyz")

        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json(), {"status": "unavailable", "migrations": "unapplied"})

    @override_settings(**https_settings(True))
    def test_probes_answer_over_plain_http_behind_tls(self):
        # Kubelet probes speak plain HTTP to the pod, without X-Forwarded-Proto.
        self.assertEqual(self.client.get("/api/me/").status_code, 301)
        self.assertEqual([self.client.get(path).status_code for path in PROBES], [200, 200])

    def test_probes_never_ask_the_authorization_server(self):
        # An AS outage must not take every API out of its Service.
        with mock.patch.object(requests.Session, "send", side_effect=requests.ConnectionError("down")) as send:
            responses = [self.client.get(path) for path in PROBES]

        self.assertEqual([response.status_code for response in responses], [200, 200])
        self.assertEqual([response.json() for response in responses], [{"status": "ok"}] * 2)
        send.assert_not_called()
