#!/bin/sh
# First start of the PostgreSQL volume: a role and a database for each server.
set -eu
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v as_password="$AS_DB_PASSWORD" -v rs_password="$RS_DB_PASSWORD" <<'SQL'
CREATE ROLE auth_server LOGIN PASSWORD :'as_password';
CREATE DATABASE auth_server OWNER auth_server;
CREATE ROLE resource_server LOGIN PASSWORD :'rs_password';
CREATE DATABASE resource_server OWNER resource_server;
SQL
