"""A configuration error is one line, naming the variable and what to do, and a non-zero exit.

The line reads ``<server>: configuration error: <VARIABLE> ...`` on every path
that starts a server or one of its commands: ``manage.py`` (any command),
gunicorn (shared/wsgi.py, shared/gunicorn_conf.py), the launcher of ``make run``
(shared.serve) and the containers' entrypoint (shared/wait_for_database.py).
A traceback would bury that line; ``sys.exit`` with a message prints it alone.
"""

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from typing import NoReturn

from django.core.exceptions import ImproperlyConfigured


def fail(server: str, message: str) -> NoReturn:
    sys.exit(f"{server}: configuration error: {message}")


@contextlib.contextmanager
def one_line(server: str) -> Iterator[None]:
    """Turn the ImproperlyConfigured that settings and ``ready()`` checks raise into ``fail``."""
    try:
        yield
    except ImproperlyConfigured as error:
        fail(server, str(error))


# gunicorn's numbers: name, default, least allowed value (a timeout of 0 turns it off).
GUNICORN_NUMBERS = {"WEB_CONCURRENCY": (2, 1), "GUNICORN_THREADS": (4, 1), "GUNICORN_TIMEOUT": (30, 0)}


def gunicorn_number(server: str, name: str, environ: Mapping[str, str] = os.environ) -> int:
    default, least = GUNICORN_NUMBERS[name]
    value = environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < least:
        fail(server, f"{name} must be a whole number of at least {least}, not {value!r}; fix it or unset it.")
    return number


def check_gunicorn_numbers(server: str, environ: Mapping[str, str] = os.environ) -> None:
    """For whatever starts gunicorn: gunicorn reads WEB_CONCURRENCY itself as it is imported
    (gunicorn.config.Workers), before any configuration file can check it."""
    for name in GUNICORN_NUMBERS:
        gunicorn_number(server, name, environ)
