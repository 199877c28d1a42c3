"""One logging configuration for both servers: plain lines on stderr.

Nothing here logs request bodies, query strings or Authorization headers, so
tokens and client secrets stay out of the logs. Each line names the request it
was written for (``request_id=<id>``, or ``request_id=-`` outside a request), as
gunicorn's access lines do (shared/gunicorn_conf.py): docs/operations.md.
"""


def logging_config(level: str = "INFO") -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d request_id=%(request_id)s %(message)s"},
        },
        # On the handler, not a logger: it sees every record, propagated ones included.
        "filters": {"request_id": {"()": "shared.request_id.RequestIdFilter"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "django": {"level": level},
            # DOT logs raw request data at DEBUG; never let that through.
            "oauth2_provider": {"level": "INFO" if level == "DEBUG" else level},
            "oauthlib": {"level": "WARNING"},
        },
    }
