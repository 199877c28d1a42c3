"""End-to-end fixtures: both servers really running, in each mode and on each database.

Every test that uses ``stack`` runs in token mode and in credentials mode, on
SQLite and, when TEST_DATABASE_URL names a PostgreSQL server, on PostgreSQL.
"""

import os

import pytest

from .oauth import Client
from .stack import start_stack

MODES = ["token", "credentials"]
DATABASES = ["sqlite"] + (["postgres"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session", params=[(m, d) for d in DATABASES for m in MODES], ids=lambda p: f"{p[0]}-{p[1]}")
def stack(request):
    mode, database = request.param
    running = start_stack(mode, database)
    yield running
    running.stop()


@pytest.fixture
def client(stack):
    return Client(stack)
