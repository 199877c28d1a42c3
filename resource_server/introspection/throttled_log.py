import logging
import threading
import time

# An outage would otherwise log a line on every request.
INTERVAL_SECONDS = 60


class ThrottledLog:
    """Log at most one line per interval, counting the lines it held back."""

    def __init__(self, logger: logging.Logger, interval: float = INTERVAL_SECONDS):
        self.logger = logger
        self.interval = interval
        self.last = float("-inf")
        self.suppressed = 0
        self.lock = threading.Lock()

    def warning(self, message: str, *args) -> None:
        with self.lock:
            now = time.monotonic()
            if now - self.last < self.interval:
                self.suppressed += 1
                return
            suppressed, self.suppressed, self.last = self.suppressed, 0, now
        if suppressed:
            message += f" ({suppressed} similar since the last report)"
        self.logger.warning(message, *args)
