"""Health endpoints, each named for the question it answers.

- ``GET /healthz``: the server answers and its database accepts a query (Compose's healthcheck).
- ``GET /livez``: the process answers; Kubernetes restarts the container when it does not.
- ``GET /readyz``: the server can serve: its database answers and its migrations are applied;
  Kubernetes sends it traffic only while it says so.

The names follow the Kubernetes API server's own (https://kubernetes.io/docs/reference/using-api/health-checks/);
what each probe means for a pod: https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/
"""

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.http import require_GET

OK = {"status": "ok"}
DATABASE_UNREACHABLE = {"status": "unavailable", "database": "unreachable"}
MIGRATIONS_UNAPPLIED = {"status": "unavailable", "migrations": "unapplied"}

# Migrations do not un-apply under a running release: once this process has seen them
# all applied, readiness costs one query. Until then it asks again on every probe, as
# the release's migration Job may finish any moment.
_migrated = False


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


def _unapplied_migrations() -> bool:
    """What ``manage.py migrate --check`` asks: is any migration short of the leaves?"""
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


@require_GET
def healthz(request):
    if not _database_answers():
        return JsonResponse(DATABASE_UNREACHABLE, status=503)
    return JsonResponse(OK)


@require_GET
def livez(request):
    # Nothing but the process: were the database or the AS in it, their outage would
    # have the kubelet restart every healthy container in a loop, which mends nothing.
    return JsonResponse(OK)


@require_GET
def readyz(request):
    # Never the AS: its outage would take every API out of its Service at once, though
    # each can still answer for the tokens its cache holds.
    global _migrated
    if not _database_answers():
        return JsonResponse(DATABASE_UNREACHABLE, status=503)
    if not _migrated:
        try:
            if _unapplied_migrations():
                return JsonResponse(MIGRATIONS_UNAPPLIED, status=503)
        except DatabaseError:
            return JsonResponse(DATABASE_UNREACHABLE, status=503)
        _migrated = True
    return JsonResponse(OK)
