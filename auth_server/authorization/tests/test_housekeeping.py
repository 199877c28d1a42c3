import os
import signal
from datetime import timedelta
from unittest import mock

from axes.models import AccessLog
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.utils import timezone

from authorization.management.commands.housekeeping import interval_from_environment

from .factories import AccessToken, access_token, application


def session(expires_in: int) -> str:
    store = SessionStore()
    store["probe"] = True
    store.set_expiry(expires_in)
    store.create()
    # set_expiry refuses a past moment for a new session; the row is what clearsessions reads.
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() + timedelta(seconds=expires_in)
    )
    return store.session_key


class HousekeepingTests(TestCase):
    def setUp(self):
        app = application("machine")
        self.expired = access_token("expired-token", app, expires_in=-60)
        self.live = access_token("live-token", app)
        self.expired_session = session(-60)
        self.live_session = session(3600)

    def test_expired_tokens_and_sessions_go_live_ones_stay(self):
        with self.assertLogs("authorization.management.commands.housekeeping", "INFO") as logs:
            call_command("housekeeping")

        self.assertEqual(list(AccessToken.objects.values_list("pk", flat=True)), [self.live.pk])
        self.assertEqual(list(Session.objects.values_list("session_key", flat=True)), [self.live_session])
        [line] = logs.output
        removed = "removed 1 access tokens, 0 refresh tokens, 0 ID tokens, 0 grants, 1 sessions, 0 sign-in records"
        self.assertIn(removed, line)

    def test_sign_in_records_older_than_their_keeping_time_go(self):
        """django-axes writes an AccessLog row for every sign-in and never removes one itself."""
        old = AccessLog.objects.create(username="demo", ip_address="127.0.0.1", user_agent="test")
        AccessLog.objects.filter(pk=old.pk).update(attempt_time=timezone.now() - timedelta(days=31))
        recent = AccessLog.objects.create(username="demo", ip_address="127.0.0.1", user_agent="test")

        with self.assertLogs("authorization.management.commands.housekeeping", "INFO") as logs:
            call_command("housekeeping")

        self.assertEqual(list(AccessLog.objects.values_list("pk", flat=True)), [recent.pk])
        self.assertIn("1 sign-in records", logs.output[-1])

    def test_a_sigterm_ends_the_loop_between_runs(self):
        runs = []

        def run_once():
            runs.append(1)
            if len(runs) == 2:
                os.kill(os.getpid(), signal.SIGTERM)
            return {}

        previous = signal.getsignal(signal.SIGTERM)
        self.addCleanup(signal.signal, signal.SIGTERM, previous)
        with (
            mock.patch("authorization.management.commands.housekeeping.run_once", run_once),
            self.assertLogs("authorization.management.commands.housekeeping", "INFO"),
        ):
            call_command("housekeeping", every=1)

        self.assertEqual(len(runs), 2)

    def test_every_must_be_a_positive_number_of_seconds(self):
        with self.assertRaisesMessage(CommandError, "--every must be 1 or more"):
            call_command("housekeeping", every=0)


class IntervalTests(TestCase):
    """``--every`` without SECONDS, as Compose runs it: every HOUSEKEEPING_INTERVAL_SECONDS."""

    def interval(self, value: str | None) -> int:
        environment = {} if value is None else {"HOUSEKEEPING_INTERVAL_SECONDS": value}
        with mock.patch.dict(os.environ, environment):
            if value is None:
                os.environ.pop("HOUSEKEEPING_INTERVAL_SECONDS", None)
            return interval_from_environment()

    def test_an_hour_unless_set(self):
        self.assertEqual([self.interval(None), self.interval(""), self.interval("600")], [3600, 3600, 600])

    def test_a_value_that_is_no_interval_is_a_configuration_error_naming_the_variable(self):
        for value in ("1h", "0", "-5", "1.5"):
            with (
                self.subTest(value=value),
                self.assertRaisesMessage(ImproperlyConfigured, "HOUSEKEEPING_INTERVAL_SECONDS"),
            ):
                self.interval(value)

    def test_every_without_seconds_checks_the_variable_before_any_run(self):
        with (
            mock.patch.dict(os.environ, {"HOUSEKEEPING_INTERVAL_SECONDS": "1h"}),
            mock.patch("authorization.management.commands.housekeeping.run_once") as run_once,
            self.assertRaisesMessage(ImproperlyConfigured, "HOUSEKEEPING_INTERVAL_SECONDS must be a whole number"),
        ):
            call_command("housekeeping", "--every")

        run_once.assert_not_called()
