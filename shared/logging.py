"""One logging configuration for both servers: plain lines on stderr.

Nothing here logs request bodies, query strings or Authorization headers, so
tokens and client secrets stay out of the logs.
"""


def logging_config(level: str = "INFO") -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"},
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "django": {"level": level},
            # DOT logs raw request data at DEBUG; never let that through.
            "oauth2_provider": {"level": "INFO" if level == "DEBUG" else level},
            "oauthlib": {"level": "WARNING"},
        },
    }
