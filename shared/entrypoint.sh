#!/bin/sh
# Container entrypoint: check gunicorn's numbers, wait until the server's database
# accepts connections and its password (a configuration error is one line naming
# the variable, in this service's log), then become the command (gunicorn,
# manage.py ...) so it receives signals.
set -eu
python -m shared.wait_for_database
exec "$@"
