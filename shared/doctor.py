"""``manage.py doctor``: checks of a running configuration, one line each, for both projects.

Each check is a function that returns what it found right (an ``OK`` line) or
raises ``Wrong`` with what is wrong and what to do (a ``FAIL`` line), or
``Skipped`` when it cannot be made here (a ``SKIP`` line, which fails nothing).
Any other exception is a ``FAIL`` line naming its class: a check that crashes
says so instead of a traceback. The command exits 1 when any check failed.
Lines never hold a secret: checks report names of variables, not their values.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from shared.settings import dotenv_values, env

UPGRADING = "docs/operations.md#upgrading-a-running-stack"


class Wrong(Exception):
    """What is wrong, and what to do about it, in one line."""


class Skipped(Exception):
    """Why the check cannot be made here."""


def database(variable: str) -> str:
    try:
        connections[DEFAULT_DB_ALIAS].ensure_connection()
    except Exception as error:
        # The driver's message ends with why (refused, no such database, password); it never holds the URL.
        why = " ".join(str(error).split())[-200:] or type(error).__name__
        raise Wrong(
            f"{variable}: cannot connect ({why}); a database an upgrade added needs creating first ({UPGRADING})"
        ) from None
    return f"{connections[DEFAULT_DB_ALIAS].vendor} answers"


def migrations(migrate: str) -> str:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        raise Skipped("the database does not answer") from None
    if plan:
        names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in plan[:5])
        more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
        raise Wrong(f"{len(plan)} not applied ({names}{more}): run {migrate}")
    return "all applied"


def dotenv(root: Path) -> str:
    """The variables of .env.example that .env lacks: a .env written by an older template (make run only)."""
    if not env.bool("DJANGO_READ_DOT_ENV_FILE", default=True):
        raise Skipped("configured by its environment, not .env")
    example, written = root / ".env.example", root / ".env"
    if not (example.is_file() and written.is_file()):
        raise Skipped("no .env here")
    # A commented-out line of .env.example is optional: dotenv_values skips it.
    present = dotenv_values(written)
    missing = [name for name in dotenv_values(example) if name not in present]
    if missing:
        raise Wrong(f".env lacks {', '.join(missing)}, which .env.example has: run make env ({UPGRADING})")
    return "has every variable of .env.example"


class DoctorCommand(BaseCommand):
    """A ``doctor`` command: ``checks()`` gives (name, function) pairs, run in order."""

    help = "Check this server's running configuration end to end; one line per check, exit 1 if any failed."
    requires_system_checks = []
    server = ""

    def checks(self):
        raise NotImplementedError

    def handle(self, *args, **options):
        failed = 0
        for name, check in self.checks():
            try:
                status, message = "OK", check()
            except Skipped as skipped:
                status, message = "SKIP", str(skipped)
            except Wrong as wrong:
                status, message = "FAIL", str(wrong)
            except Exception as error:  # a crashing check is one line too, not a traceback
                status, message = "FAIL", f"the check itself failed ({type(error).__name__})"
            failed += status == "FAIL"
            self.stdout.write(f"{self.server}: {status:4} {name}: {message}")
        if failed:
            raise CommandError(f"{failed} check(s) failed", returncode=1)
