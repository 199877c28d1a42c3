"""The containers' entrypoint check: the server's configuration numbers, then its database.

Waits until the database of AS_DATABASE_URL / RS_DATABASE_URL accepts TCP
connections, then logs in once: a password the database refuses is explained in
one line (a .env regenerated against an existing volume) instead of a traceback
three services later. SQLite URLs need no waiting.
"""

import os
import socket
import sys
import time
from urllib.parse import urlsplit

from shared.configuration import check_gunicorn_numbers, fail

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


def log_in(url: str) -> Exception | None:
    """None once the database accepts ``url``'s credentials, else the error of the attempt."""
    import psycopg  # the image has it; only a PostgreSQL URL gets this far

    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as error:
        return error
    return None


def main() -> int:
    seconds = float(os.environ.get("DATABASE_WAIT_SECONDS", "60"))
    for variable, server in VARIABLES.items():
        value = os.environ.get(variable)
        if value is None:
            continue  # the other server's
        if variable == "RS_DATABASE_URL":
            server = os.environ.get("RS_NAME", server)
        # gunicorn reads WEB_CONCURRENCY as it is imported, before shared/gunicorn_conf.py could check it.
        check_gunicorn_numbers(server)
        url = urlsplit(value)
        if not url.hostname:
            continue
        port = url.port or 5432
        if not wait(url.hostname, port, seconds):
            print(f"entrypoint: the database of {variable} ({url.hostname}:{port}) is unreachable", file=sys.stderr)
            return 1
        error = log_in(value)
        if error is not None and password_refused(error):
            fail(server, refused_password(variable, url.username or ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
