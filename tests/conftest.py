"""End-to-end fixtures: the servers really running.

By default every test that uses ``stack`` runs against servers this suite starts
itself, in credentials mode on SQLite and in token mode on PostgreSQL when
TEST_DATABASE_URL names a PostgreSQL server (else on SQLite too). ``team_api``
adds the second example API, in the same mode.

With E2E_AUTH_URL, E2E_RESOURCE_URL and E2E_TEAM_URL set (``make test-compose``),
the same tests run against those servers instead, in the mode E2E_MODE names, with
the seeded secrets and the first API's RESOURCE_SERVER_RESOURCE taken from the
environment.
"""

import contextlib
import os
import subprocess
import time

import pytest
import requests

from .fake_authorization_server import FakeAuthorizationServer
from .oauth import Client
from .stack import (
    Server,
    Stack,
    free_port,
    manage,
    remember_issued,
    resource_server_environment,
    seed_secrets,
    start_stack,
)

EXTERNAL = bool(os.environ.get("E2E_AUTH_URL"))
# Each caller mode once and each database once, in two stacks: credentials mode on
# SQLite (what make run starts) and token mode on PostgreSQL. Neither mode's code
# depends on the database, and make test-compose runs both modes on PostgreSQL.
# Without PostgreSQL, both modes run on SQLite.
PARAMS = (
    [(os.environ.get("E2E_MODE", "credentials"), "compose")]
    if EXTERNAL
    else [("credentials", "sqlite"), ("token", "postgres" if os.environ.get("TEST_DATABASE_URL") else "sqlite")]
)

# Tests of the Compose deployment itself need the stack that make test-compose starts.
# Tests that start local processes of their own (a fuzzed stack, the make targets in
# a fresh copy, make env) prove nothing more against Compose: make test runs them.
LOCAL_ONLY = ["test_fuzz.py", "test_local_targets.py", "test_dotenv.py"]
# The rendered Kubernetes manifests are make test-kubernetes's: named on its command line, never collected otherwise.
collect_ignore = (
    ["kubernetes"] + ([] if os.environ.get("E2E_COMPOSE_PROJECT") else ["compose"]) + (LOCAL_ONLY if EXTERNAL else [])
)


def on_a_second_stack(item) -> bool:
    """A test marked one_stack, against a stack in another mode than credentials.

    Its subject does not depend on the API's caller mode: the AS's alone (sign-in, lockouts,
    OpenID Connect, the AS's own series), or the API's apart from how it asks the AS (its
    cache, CORS, request ids, malformed requests): once is enough. Its PostgreSQL run is make
    test-compose's credentials phase.
    """
    callspec = getattr(item, "callspec", None)
    stack = callspec.params.get("stack") if callspec else None
    return bool(item.get_closest_marker("one_stack")) and stack is not None and stack[0] != "credentials"


def pytest_collection_modifyitems(config, items):
    """Against Compose, leave out the tests marked local_stack: they start or restart servers of their own.
    A test marked one_stack runs against the first stack only.

    The grep of every log for secrets runs last, when the rest of the suite has written them.
    """
    left_out = [
        item for item in items if (EXTERNAL and item.get_closest_marker("local_stack")) or on_a_second_stack(item)
    ]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
    items.sort(key=lambda item: item.get_closest_marker("after_the_suite") is not None)


@pytest.fixture(scope="session", autouse=True)
def issued_credentials():
    """Every token, code and cookie a server hands the suite through ``requests``, for the log grep."""
    with pytest.MonkeyPatch.context() as patch:
        # Session() takes its hooks from default_hooks(); requests.get/post make one per call.
        patch.setattr(requests.sessions, "default_hooks", lambda: {"response": [remember_issued]})
        yield


def external_stack(mode: str) -> Stack:
    return Stack(
        mode,
        "compose",
        os.environ["E2E_AUTH_URL"],
        os.environ["E2E_RESOURCE_URL"],
        {name: os.environ[name] for name in seed_secrets()},
        os.environ["RESOURCE_SERVER_RESOURCE"],
        team_url=os.environ.get("E2E_TEAM_URL"),
    )


@pytest.fixture(scope="session", params=PARAMS, ids=lambda p: f"{p[0]}-{p[1]}")
def stack(request):
    mode, database = request.param
    running = external_stack(mode) if EXTERNAL else start_stack(mode, database)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def team_api(stack) -> str:
    """The team API's URL: the second example API, its own client, resource identifier, scopes and database."""
    url = stack.team_api()
    assert url, "E2E_TEAM_URL is not set"
    return url


@pytest.fixture
def lifted(stack):
    """Usernames whose lockouts are lifted after the test (client ids as ``client:<id>``)."""
    names = []
    yield names
    if names:
        stack.auth_manage("axes_reset_username", *names)


@pytest.fixture
def client(stack):
    return Client(stack)


@contextlib.contextmanager
def resource_servers(stack, folder):
    """Start extra resource servers in the stack's mode: ``start(**environment)``; stopped on leaving.

    Each runs as shipped (its workers share one token cache, its database is
    migrated). Unless overridden, RESOURCE_SERVER_INTROSPECTION_URL points at the
    stack's AS and RESOURCE_SERVER_RESOURCE is the first API's: one more process
    of that API, which the AS knows, not an API of its own. One pointed at
    another introspection URL does not ask for signed answers unless told
    (``resource_server_environment``).
    """
    started = []

    def start(**environment):
        database = f"sqlite:///{folder}/resource-server-{len(started)}.sqlite3"
        environment = {"RESOURCE_SERVER_RESOURCE": stack.resource, **environment}
        env = resource_server_environment(stack.auth_url, stack.mode, stack.secrets, database, **environment)
        manage("resource_server", "migrate", "--no-input", env=env)
        server = Server("resource", env, int(env["RS_PORT"]))
        started.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def resource_server(stack, tmp_path):
    """Extra resource servers for one test: ``resource_server(**environment)`` (``resource_servers``)."""
    with resource_servers(stack, tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def module_resource_server(stack, tmp_path_factory):
    """Extra resource servers a test module shares, facing what its tests switch between them."""
    with resource_servers(stack, tmp_path_factory.mktemp("resource-servers")) as start:
        yield start


@pytest.fixture
def relay(stack):
    """A fake AS in front of the stack's AS that relays introspection and counts the calls."""
    with FakeAuthorizationServer("relay", upstream=f"{stack.auth_url}/o/introspect/") as fake:
        yield fake


@pytest.fixture
def redis_server(tmp_path):
    """A real redis-server on a free loopback port: (its process, its URL)."""
    port = free_port()
    options = {"port": str(port), "bind": "127.0.0.1", "save": "", "appendonly": "no", "dir": str(tmp_path)}
    arguments = [part for name, value in options.items() for part in (f"--{name}", value)]
    process = subprocess.Popen(["redis-server", *arguments], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.1)
    yield process, f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)
