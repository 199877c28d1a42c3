"""WSGI loading that turns a configuration error into one line and a clean exit."""

import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application


def load_application(server_name: str):
    try:
        return get_wsgi_application()
    except ImproperlyConfigured as error:
        # gunicorn preloads the application in its master process (see
        # shared/gunicorn_conf.py), so this stops the server before any worker forks.
        sys.exit(f"{server_name}: configuration error: {error}")
