#!/bin/sh
# A role and a database for each server, with the password .env gives it.
# PostgreSQL runs this on the volume's first start only. It is idempotent, so a
# stack that is already running gets a server added since (or a changed
# password) with the same script:
#   docker compose exec postgres sh /docker-entrypoint-initdb.d/10-databases.sh
set -eu

# $1: the role, also its database's name; $2: the variable holding its password,
# which psql reads itself (\getenv), so it shows in no command line.
database() {
  if [ -z "$(printenv "$2")" ]; then
    echo "$2 is empty or not set: it is $1's password (make env writes one)" >&2
    return 1
  fi
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres -q \
    -v name="$1" -v password_variable="$2" <<'SQL'
\getenv password :password_variable
SELECT format('CREATE ROLE %I LOGIN', :'name') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name')
\gexec
ALTER ROLE :"name" PASSWORD :'password';
-- CREATE DATABASE cannot run in a DO block or a function: \gexec runs the row it selects, if any.
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')
\gexec
SQL
}

database auth_server AS_DB_PASSWORD
database resource_server RS_DB_PASSWORD
database team_server TEAM_RS_DB_PASSWORD
