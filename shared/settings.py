"""Environment-driven settings helpers shared by both servers.

Both servers read one ``.env`` at the repository root; a variable already set in
the process environment wins over the file (django-environ never overwrites).
"""

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured


class Env(environ.Env):
    """django-environ, with a value it cannot read as a configuration error naming its variable.

    django-environ raises a bare ValueError for a number that is not one (a traceback
    without the variable's name), and reads any word it does not know as false:
    DJANGO_HTTPS=ture would quietly turn HTTPS off. An empty number or switch
    (``NAME=`` in .env) is its default, like every other empty variable.
    """

    SWITCH_WORDS = {*environ.Env.BOOLEAN_TRUE_STRINGS, "false", "off", "no", "n", "0"}

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        if cast not in (bool, int, float):
            return super().get_value(var, cast, default, parse_default)
        value = self.ENVIRON.get(var, "").strip()
        if not value and default is not self.NOTSET:
            return default
        if cast is bool and value.lower() not in self.SWITCH_WORDS:
            raise ImproperlyConfigured(f"{var} must be true or false, not {value!r}.")
        try:
            return super().get_value(var, cast, default, parse_default)
        except ValueError:
            kind = "a whole number" if cast is int else "a number"
            raise ImproperlyConfigured(f"{var} must be {kind}, not {value!r}.") from None


env = Env()


# Who may see which variable of the one .env. A server never receives the other
# server's secrets, the serving AS never receives the seed's (the demo password,
# the APIs' client secrets): only ``manage.py seed`` reads those, with the APIs'
# resource identifiers and scopes it registers. The two example APIs never see
# each other's variables. The Compose-only secrets are docker compose's alone,
# even when a shell exports them. An entry ending in ``_`` is a prefix; any other
# entry is one exact name. The servers' database settings are exact names: each
# server's database URL carries its prefix, and DATABASE_URL is no server's.
COMMON = (
    "DJANGO_",
    "GUNICORN_",
    "DATABASE_CONN_MAX_AGE",
    "DATABASE_WAIT_SECONDS",
    "WEB_CONCURRENCY",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "FORWARDED_ALLOW_IPS",
    "BIND_HOST",
)
AUDIENCES = {
    # OIDC_*: the ID token signing keys, the AS's alone.
    # HOUSEKEEPING_*: manage.py housekeeping's interval, under Compose and make run alike.
    "auth_server": COMMON + ("AS_", "OAUTH_", "OIDC_", "HOUSEKEEPING_"),
    "seed": (
        "OAUTH_RS_",
        "DEMO_",
        "RESOURCE_SERVER_RESOURCE",
        "RESOURCE_SERVER_SCOPES",
        "TEAM_RESOURCE_SERVER_RESOURCE",
        "TEAM_RESOURCE_SERVER_SCOPES",
        "RESOURCE_SERVER_EVENTS_ENDPOINT",
        "TEAM_RESOURCE_SERVER_EVENTS_ENDPOINT",
    ),
    "resource_server": COMMON + ("RS_", "RESOURCE_SERVER_"),
    # The second example API: the resource server's own names behind TEAM_, which
    # shared.serve strips before the team instance sees them.
    "team": COMMON + ("TEAM_",),
    "compose": ("POSTGRES_", "REDIS_"),
    # The PostgreSQL server the end-to-end tests and the benchmark create their
    # databases on, as its superuser: no server's, even when a shell exports it.
    "tests": ("DATABASE_URL", "TEST_DATABASE_URL"),
}


def matches(name: str, entries: tuple[str, ...]) -> bool:
    return any(name.startswith(entry) if entry.endswith("_") else name == entry for entry in entries)


def audience_of(name: str) -> set[str]:
    """The processes that may see the variable ``name`` (empty: none of ours)."""
    audiences = {audience for audience, entries in AUDIENCES.items() if matches(name, entries)}
    if "seed" in audiences:
        audiences.discard("auth_server")  # OAUTH_RS_* are the seed's, not the serving AS's
    return audiences


def dotenv_values(dotenv: Path) -> dict[str, str]:
    """The variables of a ``.env`` file, parsed by django-environ, without touching os.environ."""
    values: dict[str, str] = {}
    if dotenv.is_file():
        type("DotenvValues", (environ.Env,), {"ENVIRON": values}).read_env(dotenv, overwrite=True)
    return values


def dotenv_for(repository_root: Path, audience: str) -> dict[str, str]:
    """The variables of ``repository_root/.env`` that ``audience`` may see.

    Containers have no ``.env``; ``DJANGO_READ_DOT_ENV_FILE=false`` skips it, so
    a process can be configured by its environment alone (the end-to-end tests do).
    """
    if not env.bool("DJANGO_READ_DOT_ENV_FILE", default=True):
        return {}
    values = dotenv_values(repository_root / ".env")
    return {name: value for name, value in values.items() if audience in audience_of(name)}


# Each server's port under make run, and the values that follow one unless they are set
# (not empty): that server's URL on 127.0.0.1. Changing AS_PORT in .env moves the APIs'
# introspection URL (and with it the issuer they expect, its origin by default) and the AS's
# issuer; each API's resource identifier, which the seed registers, follows its own port.
PORTS = {"AS_PORT": 8000, "RS_PORT": 8001, "TEAM_RS_PORT": 8002}
DERIVED = {
    "OAUTH_ISSUER": ("AS_PORT", ""),
    "RESOURCE_SERVER_INTROSPECTION_URL": ("AS_PORT", "/o/introspect/"),
    "TEAM_RESOURCE_SERVER_INTROSPECTION_URL": ("AS_PORT", "/o/introspect/"),
    "RESOURCE_SERVER_RESOURCE": ("RS_PORT", "/"),
    "TEAM_RESOURCE_SERVER_RESOURCE": ("TEAM_RS_PORT", "/"),
}


def derived(name: str, ports: Mapping[str, str]) -> str:
    """What ``name`` (of DERIVED) is when empty: its server's URL on the port ``ports`` gives, else the default."""
    port_variable, path = DERIVED[name]
    return f"http://127.0.0.1:{ports.get(port_variable) or PORTS[port_variable]}{path}"


def read_dotenv(repository_root: Path, audience: str) -> None:
    """Load the variables of ``repository_root/.env`` that ``audience`` may see; the environment wins.

    With a .env read, each DERIVED variable ``audience`` sees and nothing sets follows its port
    (of the environment, else of .env), as under ``make run`` (shared.serve).
    """
    for name, value in dotenv_for(repository_root, audience).items():
        os.environ.setdefault(name, value)
    dotenv = repository_root / ".env"
    if not env.bool("DJANGO_READ_DOT_ENV_FILE", default=True) or not dotenv.is_file():
        # Configured by its environment alone (a container, gunicorn under systemd): 127.0.0.1
        # is no address it was given. An empty OAUTH_ISSUER stays each request's own origin,
        # and a missing introspection URL stops the API with the line naming it.
        return
    values = dotenv_values(dotenv)
    ports = {name: os.environ.get(name) or values.get(name, "") for name in PORTS}
    for name in DERIVED:
        if audience in audience_of(name) and not os.environ.get(name):
            os.environ[name] = derived(name, ports)


def private_directory(path: Path) -> Path:
    """``path``, created if need be, readable by this user alone.

    The local databases hold session keys and secret hashes, and the token cache
    identities: on a shared machine nobody else may read them, whatever the umask.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def database_url(variable: str, url: str) -> dict:
    """The Django database settings of ``url``, the value of ``variable``, which no message quotes.

    django-environ raises a ValueError quoting part of the URL for a port that is no
    number, which is also what a '/' or '#' left in the password makes of the rest of
    it, and takes an unknown scheme for the name of a database backend (an import
    error later, naming neither the variable nor what to do).
    """
    try:
        scheme = urlsplit(url).scheme if "://" in url else ""
        config = env.db_url_config(url) if scheme in env.DB_SCHEMES else None
    except ValueError:
        raise ImproperlyConfigured(
            f"{variable} is not a database URL django-environ can read: its port must be a number, and a"
            " '/', '#', '?' or '@' in its password percent-encoded (%2F, %23, %3F, %40)."
        ) from None
    if config is None:
        raise ImproperlyConfigured(
            f"{variable} must start with postgres:// (PostgreSQL) or sqlite:/// (SQLite), or be empty"
            " (SQLite in the project's directory)."
        )
    return config


def database(variable: str, default_sqlite_path: Path) -> dict:
    """The ``default`` database from ``variable``, or an SQLite file when it is empty."""
    url = env.str(variable, default="")
    if not url:
        private_directory(default_sqlite_path.parent)
        url = f"sqlite:///{default_sqlite_path}"
    config = database_url(variable, url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the writer, and IMMEDIATE transactions take
        # the write lock up front instead of failing with "database is locked"
        # when two gunicorn workers write at once (Django's SQLite notes).
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    if config["ENGINE"] == "django.db.backends.postgresql":
        # Keep connections between requests instead of paying a connect per request.
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
    return config


def https_settings(enabled: bool) -> dict:
    """Settings for a deployment behind a TLS-terminating proxy.

    The proxy must set ``X-Forwarded-Proto: https``; the health endpoints stay
    reachable over plain HTTP, as Compose's healthchecks and the kubelet's probes
    ask the container directly (shared/health.py).
    """
    return {
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https") if enabled else None,
        "SECURE_SSL_REDIRECT": enabled,
        "SECURE_REDIRECT_EXEMPT": [r"^(healthz|livez|readyz)$"],
        "SESSION_COOKIE_SECURE": enabled,
        "CSRF_COOKIE_SECURE": enabled,
        "SECURE_HSTS_SECONDS": env.int("DJANGO_HSTS_SECONDS", default=31536000) if enabled else 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": enabled,
        "SECURE_HSTS_PRELOAD": enabled,
    }
