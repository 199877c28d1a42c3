"""WSGI loading that turns a configuration error into one line and a clean exit."""

from django.core.wsgi import get_wsgi_application

from shared.configuration import one_line


def load_application(server_name: str):
    # gunicorn preloads the application in its master process (see
    # shared/gunicorn_conf.py), so this stops the server before any worker forks.
    with one_line(server_name):
        return get_wsgi_application()
