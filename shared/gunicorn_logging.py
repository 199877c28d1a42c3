"""gunicorn's own lines in the servers' format: its access lines and its error log (boot, workers, signals).

shared/gunicorn_conf.py names ``Logger`` as gunicorn's ``logger_class``, the
documented seam for this (gunicorn.glogging.Logger). Under ``LOG_FORMAT=json``
each line is one JSON object with the application's fields (shared/logging.py);
an access line adds the request's method, path (never its query string: a token
sent as ``?access_token=`` must not reach the log), status, bytes sent, duration
and client address, and names the request by its response's ``X-Request-ID``.
Under ``plain`` gunicorn writes its own lines, with ``access_log_format``.
"""

import os

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


class Logger(glogging.Logger):
    def setup(self, cfg):
        super().setup(cfg)
        self.json = configured_format() == "json"
        if not self.json:
            return
        # gunicorn marks the handlers it made; a configuration reload makes them anew.
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(JsonLines())
                    if log is self.error_log:
                        handler.addFilter(RequestIdFilter())

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
