"""Prometheus metrics of a server's gunicorn workers, served by the gunicorn master.

Each worker is a process of its own, so each counts in prometheus_client's
multiprocess mode: it writes its values to files of its own (named by its pid)
in PROMETHEUS_MULTIPROC_DIR, and a scrape sums every file of the directory. A
dead worker's files stay, so a total never drops when gunicorn replaces a worker
and a ``rate()`` does not jump. The master serves the sum on GUNICORN_METRICS_BIND,
apart from the public port: it outlives its workers, and a worker would answer
for one process of several. shared/gunicorn_conf.py calls this module's functions
from gunicorn's hooks (docs/operations.md, "Metrics").
"""

import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

# prometheus_client is imported where it is used, never here: it picks multiprocess
# mode once, at its import, from PROMETHEUS_MULTIPROC_DIR, which gunicorn's
# configuration sets only after importing this module.

BIND_VARIABLE = "GUNICORN_METRICS_BIND"
DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class ConfigurationError(ValueError):
    """The metrics endpoint or directory cannot be what the environment says."""


def parse_bind(value: str) -> tuple[str, int] | None:
    """``host:port`` (``[::1]:9100`` for IPv6) as (host, port); None for an empty value (no endpoint)."""
    value = value.strip()
    if not value:
        return None
    host, separator, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError(
            f"{BIND_VARIABLE} must be host:port, e.g. 127.0.0.1:9100 (under make run: a number in "
            f"AS_METRICS_PORT, RS_METRICS_PORT or TEAM_RS_METRICS_PORT), not {value!r}"
        )
    return host, int(port)


def multiprocess_directory() -> Path | None:
    """Name the directory the workers write their values to, before anything imports prometheus_client.

    prometheus_client picks multiprocess mode at import, from PROMETHEUS_MULTIPROC_DIR,
    and gunicorn preloads the application in the master before forking. Unset: a
    fresh directory this user alone can read, which is returned for removal at exit.
    """
    if os.environ.get(DIRECTORY_VARIABLE):
        try:
            Path(os.environ[DIRECTORY_VARIABLE]).mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            reason = f"cannot create {os.environ[DIRECTORY_VARIABLE]!r} ({error.strerror})"
            raise ConfigurationError(f"{DIRECTORY_VARIABLE}: {reason}: name a directory this user can write") from None
        return None
    created = Path(tempfile.mkdtemp(prefix="prometheus-multiproc-"))
    os.environ[DIRECTORY_VARIABLE] = str(created)
    return created


def for_a_command() -> None:
    """For manage.py, before anything imports prometheus_client: a command is no server.

    Nothing serves its counts. In an exported PROMETHEUS_MULTIPROC_DIR it would write
    files of its own pid, summed into a server's totals, or, the directory gone (a
    previous run's temporary one), stop with a FileNotFoundError whatever the command.
    """
    os.environ.pop(DIRECTORY_VARIABLE, None)


def wipe_multiprocess_directory() -> None:
    """Forget a previous run's values: files of pids from then would add to this run's totals."""
    for values in Path(os.environ[DIRECTORY_VARIABLE]).glob("*.db"):
        values.unlink(missing_ok=True)


def remove_directory(created: Path | None) -> None:
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        """A line per scrape, every few seconds, would drown the error log."""


def listen(value: str, public_bind: str):
    """A server bound to GUNICORN_METRICS_BIND's ``value``, not serving yet; None for an empty value.

    Bound here, as gunicorn loads its configuration, so that a port in use stops the
    server with one line before anything else is logged. prometheus_client's
    start_http_server binds and serves at once, in the thread it starts: the master
    serves from when_ready, once its own start is done (shared/gunicorn_conf.py).
    """
    endpoint = parse_bind(value)
    if endpoint is None:
        return None
    host, port = endpoint
    if public_bind.rpartition(":")[2] == str(port):
        raise ConfigurationError(f"{BIND_VARIABLE} {value!r} is the public port (GUNICORN_BIND): choose another port")

    from prometheus_client import CollectorRegistry, make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        server_class = type("MetricsServer", (ThreadingWSGIServer,), {"address_family": family})
        return make_server(host, port, make_wsgi_app(registry), server_class, handler_class=QuietHandler)
    except OSError as error:
        reason = f"cannot listen on {value!r} ({error.strerror})"
        raise ConfigurationError(f"{BIND_VARIABLE}: {reason}: choose a free host:port") from None


def serve_in_background(server) -> None:
    """Serve every worker's values, summed, at /metrics from a daemon thread."""
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()


def mark_process_dead(pid: int) -> None:
    """Drop a dead worker's live gauges; its counters and histograms stay in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)
