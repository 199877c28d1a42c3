import logging

from shared.logging import INTERVAL_SECONDS, Throttle


class ThrottledLog:
    """Log at most one line per interval, counting the lines it held back."""

    def __init__(self, logger: logging.Logger, interval: float = INTERVAL_SECONDS):
        self.logger = logger
        self.throttle = Throttle(interval)

    def warning(self, message: str, *args) -> None:
        suppressed = self.throttle.admit()
        if suppressed is None:
            return
        if suppressed:
            message += f" ({suppressed} similar since the last report)"
        self.logger.warning(message, *args)
