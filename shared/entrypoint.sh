#!/bin/sh
# Container entrypoint: wait until the server's database accepts connections,
# then become the command (gunicorn, manage.py ...) so it receives signals.
set -eu
python -m shared.wait_for_database
exec "$@"
