"""RFC 8935 push delivery of Security Event Tokens: one queue and a few sender threads per endpoint.

A dead or slow API delays only its own notices. A mass revocation (an admin
revoking hundreds of tokens) goes out over ``SENDERS`` keep-alive connections
at once, so that the API's workers verify its notices side by side. Sending
never blocks or fails the request that caused it: ``push`` only queues. A lost
notice is bounded by the API's caching window, so delivery gives up after a few
retries and says so.

Threads are created lazily in the process that pushes, and again after a fork
(gunicorn preloads the application in its arbiter, whose threads its workers do
not inherit). At exit, queued notices get up to ``DRAIN_SECONDS`` to go out:
a management command exits right after the change it announces.
"""

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from . import metrics

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/secevent+jwt"  # RFC 8417 §2.3, RFC 8935 §2
TIMEOUT_SECONDS = 2
# Waits before each retry: 6 attempts over about 8 s of waiting.
BACKOFF = (0.25, 0.5, 1, 2, 4)
QUEUE_SIZE = 10_000
# Per endpoint: one notice at a time, 500 took 4.9 s to a receiver answering in
# 5 ms, 2 s with 4 at a time. Each sender keeps its own keep-alive connection.
SENDERS = 4
DRAIN_SECONDS = 10
# What the RS says back goes into a log line: bounded, printable.
MAX_ERROR_TEXT = 200


@dataclass(frozen=True)
class Delivery:
    """One SET for one API; ``serialize`` signs it when it is sent."""

    endpoint: str
    audience: str
    jti: str
    event: str
    serialize: Callable[[], str]


class Retry(Exception):
    """A failure worth another attempt (RFC 8935 §2.4 leaves it to the transmitter)."""


def printable(value) -> str:
    text = str(value)[:MAX_ERROR_TEXT]
    return "".join(c if c.isprintable() else "?" for c in text)


def deliver(session: requests.Session, delivery: Delivery, body: str) -> bool:
    """One attempt: whether the API accepted the SET (False: it refused it); raises Retry otherwise."""
    try:
        response = session.post(
            delivery.endpoint,
            data=body.encode("ascii"),
            headers={"Content-Type": CONTENT_TYPE, "Accept": "application/json"},
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,  # a SET goes to the registered endpoint and nowhere else
        )
    except requests.RequestException as error:
        raise Retry(error.__class__.__name__) from None
    status = response.status_code
    if 200 <= status < 300:
        logger.info("security event %s (%s) delivered to %s", delivery.jti, delivery.event, delivery.audience)
        return True
    if status >= 500 or status == 429:
        raise Retry(f"HTTP {status}")
    elif status == 400:  # RFC 8935 §2.4: the SET itself is refused; sending it again changes nothing
        try:
            error = response.json()
        except ValueError:
            error = {}
        error = error if isinstance(error, dict) else {}
        logger.warning(
            "security event %s (%s) refused by %s: %s: %s",
            delivery.jti,
            delivery.event,
            delivery.audience,
            printable(error.get("err", "no err")),
            printable(error.get("description", "no description")),
        )
    else:
        logger.warning(
            "security event %s (%s) refused by %s: HTTP %s", delivery.jti, delivery.event, delivery.audience, status
        )
    return False


def counted(outcome: str) -> None:
    # Each notice ends delivered or given up, once: refused by the API, every attempt failed, or never sent.
    metrics.security_event_deliveries.labels(outcome=outcome).inc()


def transmit(session: requests.Session, delivery: Delivery) -> None:
    body = delivery.serialize()
    attempts = len(BACKOFF) + 1
    for attempt, wait in enumerate((0, *BACKOFF), 1):
        time.sleep(wait)
        if attempt > 1:
            counted("retried")
        try:
            accepted = deliver(session, delivery, body)
        except Retry as failure:
            logger.info(
                "security event %s to %s: attempt %d of %d failed (%s)",
                delivery.jti,
                delivery.audience,
                attempt,
                attempts,
                failure,
            )
        else:
            counted("delivered" if accepted else "given_up")
            return
    counted("given_up")
    logger.warning(
        "security event %s to %s given up after %d attempts; the API's caching window bounds the damage",
        delivery.jti,
        delivery.audience,
        attempts,
    )


class Transmitter:
    """The queue and the sender threads of one endpoint."""

    def __init__(self, endpoint: str):
        self.queue: queue.Queue[Delivery] = queue.Queue(QUEUE_SIZE)
        self.pending = 0
        self.idle = threading.Condition()
        for number in range(SENDERS):
            threading.Thread(target=self.run, name=f"set-push {number} {endpoint}", daemon=True).start()

    def put(self, delivery: Delivery) -> None:
        with self.idle:
            try:
                self.queue.put_nowait(delivery)
            except queue.Full:
                logger.warning(
                    "security event %s (%s) to %s dropped: %d notices already wait for this API",
                    delivery.jti,
                    delivery.event,
                    delivery.audience,
                    QUEUE_SIZE,
                )
                counted("given_up")
                return
            self.pending += 1

    def run(self) -> None:
        # As every requests call here: the environment's CA bundle (REQUESTS_CA_BUNDLE,
        # an https endpoint behind a private CA) and proxies (HTTPS_PROXY, NO_PROXY) apply.
        # One session per thread (a Session is not thread-safe): its keep-alive connection serves its notices.
        session = requests.Session()
        while True:
            delivery = self.queue.get()
            try:
                transmit(session, delivery)
            except Exception:
                # A bug must not stop this API's sender for good.
                logger.exception("security event %s to %s: sending failed", delivery.jti, delivery.audience)
                counted("given_up")
            with self.idle:
                self.pending -= 1
                self.idle.notify_all()

    def wait(self, deadline: float) -> bool:
        """Whether every queued notice went out (delivered or given up) before ``deadline`` (time.monotonic)."""
        with self.idle:
            return self.idle.wait_for(lambda: self.pending == 0, max(0, deadline - time.monotonic()))


_transmitters: dict[str, Transmitter] = {}
_pid = os.getpid()
_lock = threading.Lock()


def transmitter(endpoint: str) -> Transmitter:
    global _pid
    with _lock:
        if os.getpid() != _pid:  # forked: the parent's threads are not running here
            _transmitters.clear()
            _pid = os.getpid()
        if endpoint not in _transmitters:
            _transmitters[endpoint] = Transmitter(endpoint)
        return _transmitters[endpoint]


def push(delivery: Delivery) -> None:
    """Queue ``delivery`` for its endpoint; returns at once."""
    transmitter(delivery.endpoint).put(delivery)


@atexit.register
def drain(seconds: float = DRAIN_SECONDS) -> bool:
    """Wait up to ``seconds`` for this process's queues to empty; whether they did."""
    deadline = time.monotonic() + seconds
    with _lock:
        current = list(_transmitters.values()) if os.getpid() == _pid else []
    return all([transmitter.wait(deadline) for transmitter in current])
