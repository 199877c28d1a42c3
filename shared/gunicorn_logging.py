"""gunicorn's own lines in the servers' format: its access lines and its error log (boot, workers, signals).

shared/gunicorn_conf.py names ``Logger`` as gunicorn's ``logger_class``, the
documented seam for this (gunicorn.glogging.Logger). Under ``LOG_FORMAT=json``
each line is one JSON object with the application's fields (shared/logging.py);
an access line adds the request's method, path (never its query string: a token
sent as ``?access_token=`` must not reach the log), status, bytes sent, duration
and client address, and names the request by its response's ``X-Request-ID``.
Under ``plain`` gunicorn writes its own lines, with ``access_log_format``.
"""

import logging
import os
import re
import sys

from django.core.exceptions import ImproperlyConfigured
from gunicorn import glogging

from shared.logging import PRODUCTION_SETTINGS, JsonLines, default_format, log_format
from shared.request_id import HEADER, RequestIdFilter


def configured_format() -> str:
    # config/wsgi.py's default, which the application loads with.
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", PRODUCTION_SETTINGS)
    try:
        return log_format(settings_module)
    except ImproperlyConfigured:
        # Loading the application next (preload_app) stops the server with the one line that names it.
        return default_format(settings_module)


# gunicorn.workers.base.Worker.handle_error's lines: a request it could not parse, and
# one the application failed on (with its target, query string included).
INVALID_REQUEST = "Invalid request from ip="
FAILED_REQUEST = ("Error handling request %s %s", "Error handling request %s")
# A password-reset link (authorization/pages_urls.py, Django's PasswordResetConfirmView):
# its token sets the user's password until used or PASSWORD_RESET_TIMEOUT passes.
# The view moves it into the session and redirects to the placeholder, which stays readable.
PASSWORD_RESET_TOKEN = re.compile(r"(/accounts/reset/[^/\s]+/)(?!set-password/)[^/\s?]+")


def without_reset_token(path: str | None) -> str | None:
    return path and PASSWORD_RESET_TOKEN.sub(r"\1<token>", path)


class RequestErrorFilter(logging.Filter):
    """On gunicorn's error logger: no request's query string, header line or reset token.

    A request gunicorn cannot parse is named by the exception's class and the
    client only: gunicorn writes the exception's text, already formatted into the
    message (gunicorn.workers.base.Worker.handle_error), and for a bad request
    line or a header line without a colon that text is the line itself, a query
    string's ``access_token`` or an ``Authorization`` value with it. A request the
    application failed on is named by its path, as an access line names it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(INVALID_REQUEST):
            # handle_error runs in the worker's ``except`` block: the exception is the one being handled.
            error = sys.exc_info()[1]
            client = message[len(INVALID_REQUEST) :].partition(": ")[0]
            record.msg = "Invalid request from ip=%s: %s"
            record.args = (client, type(error).__name__ if error else "unreadable request")
        elif record.msg in FAILED_REQUEST:
            *method, target = record.args
            record.args = (*method, without_reset_token(str(target).partition("?")[0]))
        return True


class Logger(glogging.Logger):
    def setup(self, cfg):
        super().setup(cfg)
        self.json = configured_format() == "json"
        # On the logger, not a handler: every handler of it, gunicorn's or another, gets the rewritten record.
        # The logger outlives a configuration reload, which runs this again.
        if not any(isinstance(found, RequestErrorFilter) for found in self.error_log.filters):
            self.error_log.addFilter(RequestErrorFilter())
        if not self.json:
            return
        # gunicorn marks the handlers it made; a configuration reload makes them anew.
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(JsonLines())
                    if log is self.error_log:
                        handler.addFilter(RequestIdFilter())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # The path (%(U)s) and the request line (%(r)s) are what a password-reset link's token comes in on.
        atoms["U"] = without_reset_token(atoms["U"])
        atoms["r"] = without_reset_token(atoms["r"])
        return atoms

    def access(self, resp, req, environ, request_time):
        if not self.json:
            super().access(resp, req, environ, request_time)
            return
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        fields = {
            "method": atoms["m"],
            "path": atoms["U"],
            "status": int(atoms["s"]),
            "bytes": atoms["B"] or 0,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote_addr": atoms["h"],
            "request_id": atoms.get(f"{{{HEADER.lower()}}}o") or "-",
        }
        self.access_log.info('"%s %s %s" %s', atoms["m"], atoms["U"], atoms["H"], atoms["s"], extra=fields)
