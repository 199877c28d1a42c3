"""End-to-end fixtures: both servers really running.

By default every test that uses ``stack`` runs against servers this suite starts
itself, in token mode and in credentials mode, on SQLite and, when
TEST_DATABASE_URL names a PostgreSQL server, on PostgreSQL.

With E2E_AUTH_URL and E2E_RESOURCE_URL set (``make test-compose``), the same
tests run against those servers instead, in the mode E2E_MODE names, with the
seeded secrets taken from the environment.
"""

import os

import pytest

from .oauth import Client
from .stack import Stack, seed_secrets, start_stack

EXTERNAL = bool(os.environ.get("E2E_AUTH_URL"))
MODES = ["token", "credentials"]
DATABASES = ["sqlite"] + (["postgres"] if os.environ.get("TEST_DATABASE_URL") else [])
PARAMS = [(os.environ.get("E2E_MODE", "credentials"), "compose")] if EXTERNAL else [(m, d) for d in DATABASES for m in MODES]

# Tests of the Compose deployment itself need the stack that make test-compose starts.
collect_ignore = [] if os.environ.get("E2E_COMPOSE_PROJECT") else ["compose"]


def external_stack(mode: str) -> Stack:
    return Stack(
        mode,
        "compose",
        os.environ["E2E_AUTH_URL"],
        os.environ["E2E_RESOURCE_URL"],
        {name: os.environ[name] for name in seed_secrets()},
    )


@pytest.fixture(scope="session", params=PARAMS, ids=lambda p: f"{p[0]}-{p[1]}")
def stack(request):
    mode, database = request.param
    running = external_stack(mode) if EXTERNAL else start_stack(mode, database)
    yield running
    running.stop()


@pytest.fixture
def client(stack):
    return Client(stack)
