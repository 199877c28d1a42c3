"""gunicorn configuration for both servers, driven by the environment.

Run as ``gunicorn -c python:shared.gunicorn_conf config.wsgi``.
"""

import os
from pathlib import Path

from shared import metrics
from shared.configuration import fail, gunicorn_number

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# The project's directory names the server: gunicorn applies --chdir before loading this file.
workers = gunicorn_number(Path.cwd().name, "WEB_CONCURRENCY")
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = gunicorn_number(Path.cwd().name, "GUNICORN_THREADS")
timeout = gunicorn_number(Path.cwd().name, "GUNICORN_TIMEOUT")
graceful_timeout = 10
# A proxy in front must drop idle connections sooner than this (the Compose
# proxy: 3 s), or it may send a request down a connection gunicorn is closing.
keepalive = 5

# Import the application once in the master: a configuration error stops the
# server with one line instead of a crash loop of workers, and workers fork warm.
preload_app = True

accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "true").lower() == "true" else None
# %(U)s is the path without the query string: a token sent as ?access_token=
# (which the resource server refuses) must not reach the log either.
# The response's X-Request-ID (shared/request_id.py) joins each access line to
# the application's lines for the same request.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
# Under LOG_FORMAT=json (production's default) access and error lines are JSON
# objects instead, with the fields of docs/operations.md (shared/gunicorn_logging.py).
logger_class = "shared.gunicorn_logging.Logger"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn's runtime control socket is not used; the container's /app is read-only to it.
control_socket_disable = True
# Behind a TLS-terminating proxy, trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# --- Metrics (shared/metrics.py, docs/operations.md "Metrics") ---
# Chosen before the application is preloaded: prometheus_client reads its
# directory at import. The endpoint is bound here too, so a bad or busy
# GUNICORN_METRICS_BIND stops the server with one line before any other.
metrics_directory = None
try:
    metrics_directory = metrics.multiprocess_directory()
    metrics_server = metrics.listen(os.environ.get(metrics.BIND_VARIABLE, ""), bind)
except metrics.ConfigurationError as error:
    # The project's directory names the server, as its config/wsgi.py does: shared.serve
    # starts gunicorn there, and Compose's --chdir applies before this file loads.
    metrics.remove_directory(metrics_directory)
    fail(Path.cwd().name, str(error))


def on_starting(server):
    # gunicorn runs this hook after the preload (arbiter.py), so the master's own
    # files go too: it serves no request, its values are all zero.
    metrics.wipe_multiprocess_directory()


def when_ready(server):
    if metrics_server is not None:
        metrics.serve_in_background(metrics_server)
        server.log.info("Serving metrics at http://%s/metrics", os.environ[metrics.BIND_VARIABLE])


def post_fork(server, worker):
    # Workers fork from the master: none may hold the metrics port open.
    if metrics_server is not None:
        metrics_server.socket.close()


def child_exit(server, worker):
    metrics.mark_process_dead(worker.pid)


def on_exit(server):
    metrics.remove_directory(metrics_directory)
