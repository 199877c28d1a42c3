"""Environment-driven settings helpers shared by both servers.

Both servers read one ``.env`` at the repository root; a variable already set in
the process environment wins over the file (django-environ never overwrites).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def read_dotenv(repository_root: Path) -> None:
    """Load ``repository_root/.env`` when it exists (containers have none).

    ``DJANGO_READ_DOT_ENV_FILE=false`` skips it, so a process can be configured
    by its environment alone (the end-to-end tests do).
    """
    dotenv = repository_root / ".env"
    if env.bool("DJANGO_READ_DOT_ENV_FILE", default=True) and dotenv.is_file():
        env.read_env(dotenv, overwrite=False)


def database(variable: str, default_sqlite_path: Path) -> dict:
    """The ``default`` database from ``variable``, or an SQLite file when it is empty."""
    url = env.str(variable, default="")
    if not url:
        default_sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{default_sqlite_path}"
    config = env.db_url_config(url)
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


def exactly_one(*variables: str) -> str:
    """Return the name of the single non-empty variable among ``variables``.

    Raises ImproperlyConfigured with one line naming the variables when none or
    several are set, so a misconfigured server refuses to start.
    """
    present = [name for name in variables if env.str(name, default="")]
    if len(present) != 1:
        found = "both are set" if present else "neither is set"
        raise ImproperlyConfigured(f"Set exactly one of {' or '.join(variables)} ({found}).")
    return present[0]


def https_settings(enabled: bool) -> dict:
    """Settings for a deployment behind a TLS-terminating proxy.

    The proxy must set ``X-Forwarded-Proto: https``; ``/healthz`` stays reachable
    over plain HTTP for container healthchecks.
    """
    return {
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https") if enabled else None,
        "SECURE_SSL_REDIRECT": enabled,
        "SECURE_REDIRECT_EXEMPT": [r"^healthz$"],
        "SESSION_COOKIE_SECURE": enabled,
        "CSRF_COOKIE_SECURE": enabled,
        "SECURE_HSTS_SECONDS": env.int("DJANGO_HSTS_SECONDS", default=31536000) if enabled else 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": enabled,
        "SECURE_HSTS_PRELOAD": enabled,
    }
