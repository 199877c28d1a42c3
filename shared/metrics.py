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
import tempfile
from pathlib import Path

from shared.settings import private_directory

# prometheus_client is imported where it is used, never here: it picks multiprocess
# mode once, at its import, from PROMETHEUS_MULTIPROC_DIR, which gunicorn's
# configuration sets only after importing this module.

BIND_VARIABLE = "GUNICORN_METRICS_BIND"
DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class BindError(ValueError):
    """GUNICORN_METRICS_BIND is no ``host:port``."""


def parse_bind(value: str) -> tuple[str, int] | None:
    """``host:port`` (``[::1]:9100`` for IPv6) as (host, port); None for an empty value (no endpoint)."""
    value = value.strip()
    if not value:
        return None
    host, separator, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BindError(
            f"{BIND_VARIABLE} must be host:port, e.g. 127.0.0.1:9100 "
            f"(unset or empty: no metrics endpoint), not {value!r}"
        )
    return host, int(port)


def multiprocess_directory() -> Path | None:
    """Name the directory the workers write their values to, before anything imports prometheus_client.

    prometheus_client picks multiprocess mode at import, from PROMETHEUS_MULTIPROC_DIR,
    and gunicorn preloads the application in the master before forking. Unset: a
    fresh directory this user alone can read, which is returned for removal at exit.
    """
    if os.environ.get(DIRECTORY_VARIABLE):
        private_directory(Path(os.environ[DIRECTORY_VARIABLE]))
        return None
    created = Path(tempfile.mkdtemp(prefix="prometheus-multiproc-"))
    os.environ[DIRECTORY_VARIABLE] = str(created)
    return created


def wipe_multiprocess_directory() -> None:
    """Forget a previous run's values: files of pids from then would add to this run's totals."""
    for values in Path(os.environ[DIRECTORY_VARIABLE]).glob("*.db"):
        values.unlink(missing_ok=True)


def remove_directory(created: Path | None) -> None:
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)


def serve(host: str, port: int):
    """Serve every worker's values, summed, at http://host:port/metrics from a daemon thread; the server."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    server, _ = start_http_server(port, addr=host, registry=registry)
    return server


def mark_process_dead(pid: int) -> None:
    """Drop a dead worker's live gauges; its counters and histograms stay in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)
