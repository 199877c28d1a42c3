"""One logging configuration for both servers: one JSON object a line, or plain lines, on stderr.

``LOG_FORMAT`` chooses: ``json`` by default under production settings (what the
containers and the end-to-end tests run), ``plain`` under any other (``make
run``'s local settings). gunicorn's own lines follow the same choice
(shared/gunicorn_logging.py). Each line names the request it was written for
(``request_id``, or ``-`` outside a request): docs/operations.md.

Nothing here logs request bodies, query strings, headers or cookies, so tokens,
client secrets and session ids stay out of the logs: a JSON line carries the
fields below and no other attribute a record brings (Django's ``django.request``
records carry the request itself, whose repr names its query string).
"""

import logging
import os
import threading
import time
from datetime import UTC, datetime

from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.json import JsonFormatter

FORMATS = ("json", "plain")
PRODUCTION_SETTINGS = "config.settings.production"

# Every line's fields, by the names a line gives them.
FIELDS = {
    "asctime": "time",
    "levelname": "level",
    "name": "logger",
    "process": "process",
    "request_id": "request_id",
    "message": "message",
}
# gunicorn's access lines add these (shared/gunicorn_logging.py).
ACCESS_FIELDS = ("method", "path", "status", "bytes", "duration_ms", "remote_addr")
# A record's traceback, when it has one.
TRACE_FIELDS = ("exc_info", "stack_info")

PLAIN = "%(asctime)s %(levelname)s %(name)s %(process)d request_id=%(request_id)s %(message)s"

# An outage would otherwise log a line on every request.
INTERVAL_SECONDS = 60


def default_format(settings_module: str) -> str:
    """``json`` under production settings, ``plain`` under any other."""
    return "json" if settings_module == PRODUCTION_SETTINGS else "plain"


def log_format(settings_module: str) -> str:
    """``LOG_FORMAT``, else the settings module's default."""
    value = os.environ.get("LOG_FORMAT", "").strip().lower()
    if not value:
        return default_format(settings_module)
    if value not in FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain (or unset), not {value!r}.")
    return value


class JsonLines(JsonFormatter):
    """One JSON object a line: FIELDS, ACCESS_FIELDS when a record has them, a traceback; nothing else."""

    KEPT = frozenset(FIELDS.values()) | frozenset(ACCESS_FIELDS) | frozenset(TRACE_FIELDS)

    def __init__(self, **options):
        super().__init__(list(FIELDS), rename_fields=FIELDS, **options)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_data, record, message_dict)
        for key in set(log_data) - self.KEPT:
            del log_data[key]


class Throttle:
    """Admits at most one report per interval, counting the ones it held back in between."""

    def __init__(self, interval: float = INTERVAL_SECONDS):
        self.interval = interval
        self.last = float("-inf")
        self.held_back = 0
        self.lock = threading.Lock()

    def admit(self) -> int | None:
        """None to hold this one back; else report it, with this many held back since the last report."""
        with self.lock:
            now = time.monotonic()
            if now - self.last < self.interval:
                self.held_back += 1
                return None
            held_back, self.held_back, self.last = self.held_back, 0, now
            return held_back


class ServiceUnavailableOncePerInterval(logging.Filter):
    """On ``django.request``: one line per interval for the 503s, with a count of the ones held back.

    During an outage of the AS the resource server answers 503 to every request,
    and Django logs each (django.utils.log.log_response); the outage itself is
    reported, throttled, where it is seen (introspection.client). Other statuses
    pass untouched: a 500 is a fault of its own, traceback and all.
    """

    def __init__(self, interval: float = INTERVAL_SECONDS):
        super().__init__()
        self.throttle = Throttle(interval)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 503:
            return True
        held_back = self.throttle.admit()
        if held_back is None:
            return False
        if held_back:
            record.msg = f"{record.msg} (%d similar since the last report)"
            record.args = (*record.args, held_back)
        return True


def formatter(name: str) -> dict:
    """The dictConfig entry of the ``json`` or ``plain`` formatter."""
    if name == "json":
        return {"()": "shared.logging.JsonLines"}
    return {"format": PLAIN}


def logging_config(level: str = "INFO", format: str = "plain") -> dict:  # noqa: A002 (dictConfig's word)
    # dictConfig raises a bare ValueError (a traceback) for a level name it does not know.
    if level not in logging.getLevelNamesMapping():
        raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {level!r}.")
    # Loggers that write raw requests, SQL parameters (session keys) or URLs at
    # DEBUG stay at INFO or above whatever LOG_LEVEL says: any level below INFO,
    # NOTSET (everything) as well as DEBUG.
    capped = "INFO" if logging.getLevelNamesMapping().get(level, logging.INFO) < logging.INFO else level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {name: formatter(name) for name in FORMATS},
        # On the handler, not a logger: it sees every record, propagated ones included.
        "filters": {
            "request_id": {"()": "shared.request_id.RequestIdFilter"},
            "service_unavailable": {"()": "shared.logging.ServiceUnavailableOncePerInterval"},
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": format, "filters": ["request_id"]},
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "django": {"level": level},
            # On the logger: log_response writes to it directly.
            "django.request": {"filters": ["service_unavailable"]},
            "django.db.backends": {"level": capped},
            # DOT logs raw request data at DEBUG; never let that through.
            "oauth2_provider": {"level": capped},
            "oauthlib": {"level": "WARNING"},
        },
    }
