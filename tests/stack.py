"""Start the authorization server and the example APIs as real gunicorn processes.

Each server runs the way ``make run-auth`` / ``make run-resource`` / ``make run-team``
runs it (``python -m shared.serve``), with production settings, on a free loopback
port, configured by its environment alone. The AS is seeded with both APIs, each
registered with its own client, resource identifier (its loopback URL) and scopes;
the team API's process starts on first use (``Stack.team_api``).
"""

import base64
import contextlib
import fcntl
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import requests

from shared.serve import SERVERS

from .metrics import Samples, scrape

ROOT = Path(__file__).resolve().parent.parent
FIRST_API_SCOPES = "read write notes"
TEAM_API_SCOPES = "team:read team:write team:notes"
TEAM_PREFIX = "TEAM_"
# compose.yaml's servers serve their metrics inside their containers only: read there.
READ_COMPOSE_METRICS = (
    "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9100/metrics', timeout=10).read().decode())"
)
# Only what a process needs to run; nothing of the caller's OAuth configuration.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


# What no log may hold (tests/test_logs.py greps every server log of the session for it):
# each secret a server was given and each credential the servers handed the suite,
# by kind (a variable's name, "access_token"...), which is all a failure may print.
LOG_FILES: list[Path] = []
SECRETS: dict[str, str] = {}  # value: kind
SECRET_VARIABLE = re.compile(
    r"(_SECRET|_SECRET_KEY|PASSWORD|_AUTH_TOKEN|_INTROSPECTION_TOKEN|_CREDENTIALS|_PRIVATE_KEY|_PRIVATE_KEYS_INACTIVE)$"
)
ISSUED = ("access_token", "refresh_token", "id_token")
# A password-reset link (authorization/pages_urls.py): its token, but not the placeholder
# Django's PasswordResetConfirmView redirects to, which every reset's log names.
PASSWORD_RESET_LINK = re.compile(r"/accounts/reset/[^/]+/(?!set-password/)(?P<token>[^/]+)/")


def remember_secret(kind: str, value: str | None) -> None:
    if value and len(value) >= 8:  # shorter values are no secrets of ours, and would match anywhere
        SECRETS[value] = kind


def remember_environment(environment: dict) -> None:
    """The secrets among a process's variables, a database or cache URL's password included."""
    for name, value in environment.items():
        if SECRET_VARIABLE.search(name):
            remember_secret(name, value)
        elif name.endswith("_URL") and urlsplit(value).password:
            remember_secret(f"{name} password", unquote(urlsplit(value).password))
        if name.endswith("PRIVATE_KEY") and value:
            # A leaked key would be its PEM text rather than the variable's base64 of it.
            remember_secret(f"{name} (PEM)", base64.b64decode(value).decode().splitlines()[1])


def remember_issued(response, *args, **kwargs) -> None:
    """A ``requests`` response hook: the tokens, codes, cookies a server hands the suite, the reset links it opens."""
    if response.headers.get("Content-Type", "").startswith("application/json"):
        with contextlib.suppress(ValueError):
            body = response.json()
            for kind in ISSUED if isinstance(body, dict) else ():
                remember_secret(kind, body.get(kind) if isinstance(body.get(kind), str) else None)
    for code in parse_qs(urlsplit(response.headers.get("Location", "")).query).get("code", []):
        remember_secret("authorization code", code)
    for cookie in response.cookies:
        remember_secret(f"{cookie.name} cookie", cookie.value)
    if link := PASSWORD_RESET_LINK.search(urlsplit(response.url).path):
        remember_secret("password reset token", link["token"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_environment() -> dict:
    return {
        **{name: os.environ[name] for name in INHERITED if name in os.environ},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_READ_DOT_ENV_FILE": "false",
        # Plain HTTP on loopback: no TLS-terminating proxy in front.
        "DJANGO_HTTPS": "false",
        "WEB_CONCURRENCY": "2",
        # Not make run's fixed defaults: suites run side by side on one machine. A Server
        # sets its own server's (Server.metrics_port); this covers any other start.
        **{name: str(free_port()) for name in ("AS_METRICS_PORT", "RS_METRICS_PORT", "TEAM_RS_METRICS_PORT")},
    }


class Databases:
    """SQLite files in a temporary folder, or fresh PostgreSQL databases."""

    def __init__(self, kind: str, folder: Path):
        self.kind = kind
        self.folder = folder
        self.created: list[str] = []

    def url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.folder / name}.sqlite3"
        database = f"e2e_{name}_{uuid.uuid4().hex[:8]}"
        self._admin(f'CREATE DATABASE "{database}"')
        self.created.append(database)
        server = urlsplit(self.server_url())
        return urlunsplit(server._replace(path=f"/{database}"))

    def drop(self) -> None:
        for database in self.created:
            self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    @staticmethod
    def server_url() -> str:
        """The PostgreSQL server to create databases on (the benchmark passes DATABASE_URL)."""
        return os.environ.get("TEST_DATABASE_URL") or os.environ["DATABASE_URL"]

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.server_url(), autocommit=True) as connection:
            connection.execute(statement)


def collect_static(env: dict) -> None:
    """collectstatic into the one STATIC_ROOT, one stack at a time: stacks that start together (the
    suite's processes, the benchmark's) would otherwise replace each other's files as they copy them."""
    with open(Path(tempfile.gettempdir()) / "split-oauth2-collectstatic.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manage("auth_server", "collectstatic", "--no-input", env=env)


def manage(server: str, *args: str, env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT / server,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


@dataclass
class Server:
    name: str  # "auth", "resource" or "team": what shared.serve starts
    env: dict
    port: int
    process: subprocess.Popen | None = None
    log: Path | None = None
    # Where its gunicorn master serves /metrics: set as make run sets it (shared.serve).
    metrics_port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self) -> None:
        if self.log is None:
            self.log = Path(tempfile.mkstemp(prefix=f"{self.name}-", suffix=".log")[1])
            LOG_FILES.append(self.log)
        remember_environment(self.env)
        env = {**self.env, SERVERS[self.name].metrics_port_variable: str(self.metrics_port)}
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shared.serve", self.name],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_healthy()

    def wait_healthy(self, seconds: float = 30) -> None:
        try:
            wait_healthy(self.url, seconds)
        except RuntimeError:
            exit_code = self.process.poll()
            raise RuntimeError(f"{self.name} server (exit {exit_code}):\n{self.log.read_text()}") from None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def workers(self) -> list[int]:
        """The gunicorn workers' pids: children of the master, the child of ``shared.serve``."""
        return [worker for master in children(self.process.pid) for worker in children(master)]

    def worker_serving(self, client_port: int) -> int | None:
        """The worker holding the server end of the open connection from ``client_port`` (Linux /proc)."""
        inodes = [
            fields[9]
            for fields in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
            if int(fields[1].rsplit(":", 1)[1], 16) == self.port and int(fields[2].rsplit(":", 1)[1], 16) == client_port
        ]
        for worker in self.workers():
            if {f"socket:[{inode}]" for inode in inodes} & open_files(worker):
                return worker
        return None


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def open_files(pid: int) -> set[str]:
    """What the descriptors of ``pid`` point to (``socket:[inode]`` for a socket)."""
    targets = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed while we looked
            targets.add(os.readlink(descriptor))
    return targets


def compose(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``docker compose`` on the project that make test-compose started."""
    project = ["-p", os.environ["E2E_COMPOSE_PROJECT"], "--env-file", os.environ["E2E_ENV_FILE"]]
    return subprocess.run(
        ["docker", "compose", *project, *args], cwd=ROOT, check=check, capture_output=True, text=True, timeout=300
    )


def wait_healthy(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy")


@dataclass
class Stack:
    """The AS and the first API, the team API once asked for, and the secrets they were seeded with."""

    mode: str  # "token" or "credentials"
    database: str
    auth_url: str
    resource_url: str
    secrets: dict
    resource: str  # the first API's resource identifier
    servers: list = field(default_factory=list)
    cleanup: list = field(default_factory=list)
    databases: Databases | None = None
    team_port: int | None = None  # registered at the AS by the seed, served once asked for
    team_url: str | None = None

    def team_api(self) -> str | None:
        """The team API's URL: under Compose, E2E_TEAM_URL; here, its server, started on first use."""
        if self.team_url is None and self.databases is not None:
            env = team_environment(self, self.databases.url("team_server"))
            subprocess.run(
                [sys.executable, "-m", "shared.serve", "manage", "team", "migrate", "--no-input"],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            team = Server("team", env, self.team_port)
            self.servers.append(team)
            team.start()
            self.team_url = team.url
        return self.team_url

    @property
    def compose_project(self) -> str | None:
        return os.environ.get("E2E_COMPOSE_PROJECT") if self.database == "compose" else None

    def stop_auth_server(self) -> None:
        if self.compose_project:
            compose("stop", "auth-server")
        else:
            self.servers[0].stop()

    def start_auth_server(self) -> None:
        if self.compose_project:
            compose("start", "auth-server")
            wait_healthy(self.auth_url)
        else:
            self.servers[0].start()

    def auth_manage(self, *args: str) -> str:
        """Run a manage.py command of the authorization server, against its database."""
        if self.compose_project:
            return compose("exec", "-T", "auth-server", "python", "auth_server/manage.py", *args).stdout
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT / "auth_server",
            env=self.servers[0].env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return result.stdout

    def metrics(self, server: str) -> Samples:
        """The metrics of "auth", "resource" or "team": under Compose read inside its container (never published)."""
        if self.compose_project:
            return Samples.parse(compose("exec", "-T", f"{server}-server", "python", "-c", READ_COMPOSE_METRICS).stdout)
        return scrape(next(running for running in self.servers if running.name == server).metrics_url)

    def logs(self) -> str:
        if self.compose_project:
            return compose("logs", "--no-color", "auth-server", "resource-server").stdout
        return "".join(server.log.read_text() for server in self.servers)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        for action in self.cleanup:
            action()


def signing_key() -> str:
    """A fresh ID token signing key, as ``make env`` writes OIDC_RSA_PRIVATE_KEY (shared.dotenv, with openssl)."""
    from shared.dotenv import rsa_private_key

    return rsa_private_key()


def seed_secrets() -> dict:
    return {
        "OAUTH_RS_CLIENT_ID": "resource-server",
        "OAUTH_RS_CLIENT_SECRET": secrets.token_urlsafe(48),
        "OAUTH_RS_TEAM_CLIENT_ID": "team-api",
        "OAUTH_RS_TEAM_CLIENT_SECRET": secrets.token_urlsafe(48),
        "OAUTH_RS_INTROSPECTION_TOKEN": secrets.token_urlsafe(32),
        "DEMO_USERNAME": "demo",
        "DEMO_PASSWORD": secrets.token_urlsafe(12),
        "DEMO_CLIENT_ID": "demo-machine",
        "DEMO_CLIENT_SECRET": secrets.token_urlsafe(48),
        "DEMO_PUBLIC_CLIENT_ID": "demo-public",
        "DEMO_REDIRECT_URI": "https://127.0.0.1:8765/callback",
        # The demo web app's OpenID Connect client. Both URIs are loopback http:
        # DOT lets a request name any port for them (RFC 8252 §7.3), so a relying
        # party in a test may listen wherever it can.
        "DEMO_WEB_CLIENT_ID": "demo-web",
        "DEMO_WEB_CLIENT_SECRET": secrets.token_urlsafe(48),
        "DEMO_WEB_REDIRECT_URI": "http://127.0.0.1:8003/callback/",
        "DEMO_WEB_POST_LOGOUT_REDIRECT_URI": "http://127.0.0.1:8003/",
    }


def introspection_credentials(mode: str, seeded: dict) -> dict:
    """The RS's environment for token mode or credentials mode.

    A token does not say whose it is: the API names its client, the ``aud`` of signed answers (RFC 9701 §5).
    """
    if mode == "token":
        return {
            "RESOURCE_SERVER_AUTH_TOKEN": seeded["OAUTH_RS_INTROSPECTION_TOKEN"],
            "RESOURCE_SERVER_CLIENT_ID": seeded["OAUTH_RS_CLIENT_ID"],
        }
    credentials = f"{seeded['OAUTH_RS_CLIENT_ID']}:{seeded['OAUTH_RS_CLIENT_SECRET']}"
    return {"RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": credentials}


def resource_server_environment(
    auth_url: str, mode: str, seeded: dict, database_url: str, port: int | None = None, **extra
) -> dict:
    """A resource server on ``port`` (default: a free one), whose resource identifier is its loopback URL.

    Its token cache is a directory of its own, shared by its workers only. It asks
    the AS at ``auth_url`` for signed answers (RFC 9701), as shipped; pointed at
    another introspection URL (a fake AS, a relay: plain JSON, their own origin)
    it does not, unless ``extra`` says so.
    """
    port = port or free_port()
    introspection_url = f"{auth_url}/o/introspect/"
    signed = extra.get("RESOURCE_SERVER_INTROSPECTION_URL", introspection_url) == introspection_url
    return {
        **base_environment(),
        "RS_SECRET_KEY": secrets.token_urlsafe(50),
        "RS_DATABASE_URL": database_url,
        "RS_PORT": str(port),
        "RS_CACHE_DIR": tempfile.mkdtemp(prefix="rs-cache-"),
        "RESOURCE_SERVER_RESOURCE": f"http://127.0.0.1:{port}/",
        "RESOURCE_SERVER_SCOPES": FIRST_API_SCOPES,
        "RESOURCE_SERVER_INTROSPECTION_URL": introspection_url,
        "RESOURCE_SERVER_INTROSPECTION_SIGNED": str(signed).lower(),
        **introspection_credentials(mode, seeded),
        **extra,
    }


def team_introspection_credentials(stack: Stack) -> dict:
    """The team API's own: its client's credentials, or a token with scope introspection issued to that client."""
    client = (stack.secrets["OAUTH_RS_TEAM_CLIENT_ID"], stack.secrets["OAUTH_RS_TEAM_CLIENT_SECRET"])
    if stack.mode == "credentials":
        return {"RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": ":".join(client)}
    response = requests.post(
        f"{stack.auth_url}/o/token/",
        data={"grant_type": "client_credentials", "scope": "introspection"},
        auth=client,
        timeout=10,
    )
    response.raise_for_status()
    return {"RESOURCE_SERVER_AUTH_TOKEN": response.json()["access_token"], "RESOURCE_SERVER_CLIENT_ID": client[0]}


def team_environment(stack: Stack, database_url: str) -> dict:
    """The team API as make run-team configures it: the resource server's variables behind TEAM_."""
    base = base_environment()
    own = resource_server_environment(
        stack.auth_url,
        stack.mode,
        stack.secrets,
        database_url,
        port=stack.team_port,
        RESOURCE_SERVER_SCOPES=TEAM_API_SCOPES,
        RESOURCE_SERVER_SCOPE_PREFIX="team:",
        **team_introspection_credentials(stack),
    )
    return {**base, **{f"{TEAM_PREFIX}{name}": value for name, value in own.items() if name not in base}}


def start_stack(mode: str, database: str, every_server: dict | None = None, **resource_environment) -> Stack:
    """``every_server``: variables for the AS and the first API alike (LOG_LEVEL...)."""
    folder = Path(tempfile.mkdtemp(prefix=f"e2e-{mode}-{database}-"))
    databases = Databases(database, folder)
    seeded = seed_secrets()
    auth_port = free_port()
    # Each API's port comes first: its resource identifier names it, and the seed registers it.
    resource_env = resource_server_environment(
        f"http://127.0.0.1:{auth_port}",
        mode,
        seeded,
        databases.url("resource_server"),
        **{**(every_server or {}), **resource_environment},
    )
    team_port = free_port()
    # The serving AS never sees the seed's variables (shared.serve filters them out).
    auth_env = {
        **base_environment(),
        **seeded,
        "RESOURCE_SERVER_RESOURCE": resource_env["RESOURCE_SERVER_RESOURCE"],
        "RESOURCE_SERVER_SCOPES": resource_env["RESOURCE_SERVER_SCOPES"],
        "TEAM_RESOURCE_SERVER_RESOURCE": f"http://127.0.0.1:{team_port}/",
        "TEAM_RESOURCE_SERVER_SCOPES": TEAM_API_SCOPES,
        "AS_SECRET_KEY": secrets.token_urlsafe(50),
        "AS_DATABASE_URL": databases.url("auth_server"),
        "AS_PORT": str(auth_port),
        # One issuer whoever asks: the AS's URL, as Compose pins it to the published one.
        "OAUTH_ISSUER": f"http://127.0.0.1:{auth_port}",
        "OIDC_RSA_PRIVATE_KEY": signing_key(),
        **(every_server or {}),
    }
    manage("auth_server", "migrate", "--no-input", env=auth_env)
    collect_static(auth_env)
    manage("auth_server", "seed", env=auth_env)
    auth = Server("auth", auth_env, auth_port)
    manage("resource_server", "migrate", "--no-input", env=resource_env)
    resource = Server("resource", resource_env, int(resource_env["RS_PORT"]))
    stack = Stack(
        mode,
        database,
        auth.url,
        resource.url,
        seeded,
        resource_env["RESOURCE_SERVER_RESOURCE"],
        [auth, resource],
        [databases.drop],
        databases,
        team_port,
    )
    try:
        auth.start()
        resource.start()
    except BaseException:
        stack.stop()
        raise
    return stack
