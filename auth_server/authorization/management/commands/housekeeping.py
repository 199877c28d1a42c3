"""Clear expired tokens and sessions (DOT's ``cleartokens``, Django's ``clearsessions``) and old sign-in records.

    manage.py housekeeping                  once
    manage.py housekeeping --every 600      every 10 minutes, until SIGTERM or SIGINT
    manage.py housekeeping --every          every HOUSEKEEPING_INTERVAL_SECONDS (3600 when unset or empty)

Compose's auth-housekeeping runs the last, so that a bad interval is a configuration
error naming its variable, not argparse's usage about ``--every``.

django-axes writes a sign-in record (``AccessLog``) for every sign-in and never
removes one; records older than ``SIGN_IN_RECORD_DAYS`` go (its ``axes_reset_logs``).
None of the commands says what it removed, so each run counts the rows before and
after and logs one line. A SIGTERM (``docker compose stop``) during a run ends
the loop once the run is over, never in the middle of a batch delete; during the
wait it ends it at once. Expired tokens are refused anyway; clearing them keeps
the tables (and each introspection's lookup) small.
"""

import io
import logging
import os
import signal
import threading

from axes.models import AccessLog
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

log = logging.getLogger(__name__)
# axes_reset_logs' own default age.
SIGN_IN_RECORD_DAYS = 30
INTERVAL_VARIABLE = "HOUSEKEEPING_INTERVAL_SECONDS"
DEFAULT_INTERVAL_SECONDS = 3600
# What ``--every`` without SECONDS gives: not a str, which argparse would convert with int().
EVERY_INTERVAL = object()

# What the two commands clear, as the log line names them.
TABLES = {
    "access tokens": get_access_token_model(),
    "refresh tokens": get_refresh_token_model(),
    "ID tokens": get_id_token_model(),
    "grants": get_grant_model(),
    "sessions": Session,
    "sign-in records": AccessLog,
}


def counts() -> dict[str, int]:
    return {name: model.objects.count() for name, model in TABLES.items()}


def run_once() -> dict[str, int]:
    """Clear what has expired; the rows removed from each table (rows added meanwhile count against it)."""
    before = counts()
    call_command("cleartokens")
    call_command("clearsessions")
    call_command("axes_reset_logs", age=SIGN_IN_RECORD_DAYS, stdout=io.StringIO())
    after = counts()
    return {name: max(before[name] - after[name], 0) for name in TABLES}


def interval_from_environment() -> int:
    """HOUSEKEEPING_INTERVAL_SECONDS, in seconds; a value that is none is a configuration error naming it."""
    value = os.environ.get(INTERVAL_VARIABLE, "").strip()
    if not value:
        return DEFAULT_INTERVAL_SECONDS
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise ImproperlyConfigured(
            f"{INTERVAL_VARIABLE} must be a whole number of seconds, 1 or more, not {value!r}; "
            f"fix it or unset it (every {DEFAULT_INTERVAL_SECONDS} seconds)."
        )
    return seconds


class Command(BaseCommand):
    help = "Clear expired tokens, sessions and old sign-in records, once or every N seconds."

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            nargs="?",
            const=EVERY_INTERVAL,
            type=int,
            metavar="SECONDS",
            help=f"run again every SECONDS until stopped (SIGTERM, SIGINT); without SECONDS, every {INTERVAL_VARIABLE}",
        )

    def handle(self, *args, every=None, **options):
        if every is EVERY_INTERVAL:
            every = interval_from_environment()
        elif every is not None and every < 1:
            raise CommandError("--every must be 1 or more (seconds).")
        stopping = threading.Event()
        if every is not None:
            for number in (signal.SIGTERM, signal.SIGINT):
                signal.signal(number, lambda *_: stopping.set())
        while True:
            removed = run_once()
            log.info("housekeeping: removed %s", ", ".join(f"{count} {name}" for name, count in removed.items()))
            if every is None or stopping.wait(every):
                return
