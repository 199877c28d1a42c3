"""The containers' entrypoint check: the server's configuration numbers, then its database.

Waits until the database of AS_DATABASE_URL / RS_DATABASE_URL accepts TCP
connections, then logs in: a password the database refuses is explained in one
line (a .env regenerated against an existing volume) instead of a traceback three
services later, and so is any other log-in still refused at the end of the wait.
The URL is read as the servers read it (shared.settings.database_url), and no line
quotes it. SQLite URLs need no waiting.
"""

import os
import socket
import sys
import time

from shared.configuration import check_gunicorn_numbers, fail, one_line
from shared.settings import database_url, env

# Each database URL, and the server whose it is.
VARIABLES = {"AS_DATABASE_URL": "auth_server", "RS_DATABASE_URL": "resource_server"}
# Compose's roles (compose/postgres/initdb.d) and the .env variable each one's password comes from.
PASSWORDS = {"auth_server": "AS_DB_PASSWORD", "resource_server": "RS_DB_PASSWORD", "team_server": "TEAM_RS_DB_PASSWORD"}
# PostgreSQL's invalid_password (Appendix A); libpq reports it while connecting, as text.
REFUSED_LOGIN = "28P01"


def wait(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def password_refused(error: Exception) -> bool:
    return getattr(error, "sqlstate", None) == REFUSED_LOGIN or "password authentication failed" in str(error)


def refused_password(variable: str, role: str) -> str:
    """What to say when the database refuses the password of ``variable``'s URL, for ``role``."""
    password = PASSWORDS.get(role)
    if password is None:
        return f"{variable}: the database refuses the password of role {role}; correct the URL's password."
    return (
        f"{password} is not the password of the database role {role}: the database volume was initialised"
        " with other passwords (.env regenerated?). Put back the .env values it was created with, or give"
        " the roles the new ones (docker compose up -d postgres && docker compose exec postgres"
        " sh /docker-entrypoint-initdb.d/10-databases.sh), or start over with docker compose down -v,"
        " which deletes the data."
    )


# Django's own keys of a PostgreSQL database's OPTIONS; the others are libpq's (sslmode...).
DJANGO_OPTIONS = ("isolation_level", "server_side_binding", "assume_role", "pool")


def log_in(config: dict) -> Exception | None:
    """None once the database accepts the credentials of ``config`` (shared.settings.database_url), else the error.

    Keyword arguments, not the URL: psycopg refuses schemes django-environ reads (psql://,
    pgsql://), quoting the whole URL, password and all, in its message.
    """
    import psycopg  # the image has it; only a PostgreSQL URL gets this far

    options = {name: value for name, value in config.get("OPTIONS", {}).items() if name not in DJANGO_OPTIONS}
    try:
        psycopg.connect(
            host=config["HOST"],
            port=config["PORT"] or None,
            user=config["USER"] or None,
            password=config["PASSWORD"] or None,
            dbname=config["NAME"] or None,
            connect_timeout=5,
            **options,
        ).close()
    except psycopg.Error as error:
        return error
    return None


def described(error: Exception) -> str:
    """The error's class and SQLSTATE: its message may quote the connection's parameters."""
    sqlstate = getattr(error, "sqlstate", None)
    return f"{type(error).__name__}, SQLSTATE {sqlstate}" if sqlstate else type(error).__name__


def check(variable: str, server: str) -> int:
    # gunicorn reads WEB_CONCURRENCY as it is imported, before shared/gunicorn_conf.py could check it.
    check_gunicorn_numbers(server)
    seconds = env.float("DATABASE_WAIT_SECONDS", default=60.0)
    config = database_url(variable, os.environ[variable])
    if not config["HOST"]:
        return 0  # SQLite
    host, port = config["HOST"], config["PORT"] or 5432
    deadline = time.monotonic() + seconds
    if not wait(host, port, seconds):
        print(f"entrypoint: the database of {variable} ({host}:{port}) is unreachable", file=sys.stderr)
        return 1
    # A database that accepts connections may not take a log-in yet (57P03, starting up): retried until the deadline.
    while (error := log_in(config)) is not None:
        if password_refused(error):
            fail(server, refused_password(variable, config["USER"]))
        if time.monotonic() >= deadline:
            fail(
                server,
                f"{variable}: the database at {host}:{port} did not let role {config['USER']} into database"
                f" {config['NAME']} within {seconds:g} seconds ({described(error)}); check the URL's host, port,"
                " role and database name.",
            )
        time.sleep(0.5)
    return 0


def main() -> int:
    for variable, server in VARIABLES.items():
        if not os.environ.get(variable):
            continue  # the other server's, or SQLite in the project's directory
        if variable == "RS_DATABASE_URL":
            server = os.environ.get("RS_NAME", server)
        with one_line(server):
            if check(variable, server):
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
