#!/usr/bin/env bash
# make test-compose: build the image, start the Compose stack on free ports with
# freshly generated secrets, run the end-to-end suite against the published
# ports in credentials mode (tests/compose/test_replicas.py scales the first API
# to three replicas and back) and its caller-mode tests in token mode, switch the stack to the
# production profile (HTTPS through the proxy) and run its tests and a part of
# the suite over HTTPS, and take the stack down with its volumes whatever happens.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
PYTHON="$ROOT/.venv/bin/python"

# Engine, Compose and base images (stand-ins where no registry is reachable).
while IFS='=' read -r name value; do export "$name=$value"; done < <(tests/compose/engine.sh)

work="$(mktemp -d)"
export E2E_ENV_FILE="$work/compose.env"
python3 -m shared.dotenv .env.example "$E2E_ENV_FILE" >/dev/null
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Free ports, so a stack the user runs on 8000-8002 is left alone.
rs_port="$(free_port)"
team_port="$(free_port)"
sed -i -e "s/^AS_PORT=.*/AS_PORT=$(free_port)/" -e "s/^RS_PORT=.*/RS_PORT=$rs_port/" \
  -e "s/^TEAM_RS_PORT=.*/TEAM_RS_PORT=$team_port/" \
  -e "s#^RESOURCE_SERVER_RESOURCE=.*#RESOURCE_SERVER_RESOURCE=http://127.0.0.1:$rs_port/#" \
  -e "s#^TEAM_RESOURCE_SERVER_RESOURCE=.*#TEAM_RESOURCE_SERVER_RESOURCE=http://127.0.0.1:$team_port/#" "$E2E_ENV_FILE"
echo "PROMETHEUS_PORT=$(free_port)" >>"$E2E_ENV_FILE"
set -a; . "$E2E_ENV_FILE"; set +a
export APP_IMAGE="${APP_IMAGE:-split-oauth2-django:e2e}"
export E2E_COMPOSE_PROJECT="split-oauth2-e2e-$$"
PRODUCTION=compose.yaml:compose.production.yaml
# With Prometheus (the metrics profile) from the start: tests/compose/test_metrics.py
# reads what it scraped, and every phase runs as a stack with the profile on does.
export COMPOSE_PROFILES=metrics
compose() { docker compose -p "$E2E_COMPOSE_PROJECT" --env-file "$E2E_ENV_FILE" "$@"; }
export -f compose

echo "test-compose: building $APP_IMAGE on $PYTHON_IMAGE"
build=(docker build)
if ! docker buildx version >/dev/null 2>&1; then
  # Without the buildx plugin, Debian's 20.10 client still speaks BuildKit.
  build=(env DOCKER_BUILDKIT=1 /usr/bin/docker build)
fi
secret=()
cert="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
if [ -f "$cert" ]; then secret=(--secret "id=pip_cert,src=$cert"); fi
"${build[@]}" -q "${secret[@]}" --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" -t "$APP_IMAGE" . >/dev/null

cleanup() {
  status=$?
  if [ "$status" != 0 ]; then compose logs --no-color --tail 80 >&2 || true; fi
  # Both files, so that the production profile's volumes go too.
  COMPOSE_FILE="$PRODUCTION" compose down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

echo "test-compose: starting the stack (project $E2E_COMPOSE_PROJECT, AS :$AS_PORT, RS :$RS_PORT, team :$TEAM_RS_PORT, Prometheus :$PROMETHEUS_PORT)"
compose up -d --no-build --wait --wait-timeout 240

export E2E_AUTH_URL="http://127.0.0.1:$AS_PORT" E2E_RESOURCE_URL="http://127.0.0.1:$RS_PORT" \
  E2E_TEAM_URL="http://127.0.0.1:$TEAM_RS_PORT"

# TESTS=... (make test-compose TESTS=tests/compose/test_x.py) runs only those
# tests, against the stack in credentials mode, while working on them.
if [ -n "${TESTS:-}" ]; then
  read -ra only <<<"$TESTS"
  E2E_MODE=credentials "$PYTHON" -m pytest -p no:cacheprovider "${only[@]}"
  exit
fi
E2E_MODE=credentials "$PYTHON" -m pytest -p no:cacheprovider tests --ignore=tests/compose/test_production.py

# The first API only: the team API stays in credentials mode. make test runs the whole
# suite in token mode (on PostgreSQL); here, the tests whose subject is how the API asks
# the AS, which is what Compose's token mode wires differently.
echo "test-compose: switching the resource server to token mode"
RESOURCE_SERVER_INTROSPECTION_CREDENTIALS= RESOURCE_SERVER_AUTH_TOKEN="$OAUTH_RS_INTROSPECTION_TOKEN" \
  compose up -d --no-build --wait --wait-timeout 120 resource-server
RESOURCE_SERVER_INTROSPECTION_CREDENTIALS= RESOURCE_SERVER_AUTH_TOKEN="$OAUTH_RS_INTROSPECTION_TOKEN" \
  E2E_MODE=token "$PYTHON" -m pytest -p no:cacheprovider tests/test_client_credentials.py tests/test_notes.py \
  tests/test_introspection_callers.py tests/test_introspection_answers.py tests/test_signed_introspection.py \
  tests/test_audience.py tests/test_revocation.py tests/test_revocation_push.py tests/test_doctor.py \
  tests/test_authorization_code.py tests/test_scope_rules.py tests/test_many_apis.py

echo "test-compose: switching the stack to the production profile (HTTPS through the proxy)"
export COMPOSE_FILE="$PRODUCTION"
compose up -d --no-build --wait --wait-timeout 240
compose --progress quiet cp proxy:/ca/root.crt "$work/proxy-ca.crt"
# compose.production.yaml pins both APIs' resource identifiers to their https URLs,
# and the issuer (OAUTH_ISSUER, empty here) to the AS's.
REQUESTS_CA_BUNDLE="$work/proxy-ca.crt" E2E_AUTH_URL="https://127.0.0.1:$AS_PORT" \
  E2E_RESOURCE_URL="https://127.0.0.1:$RS_PORT" E2E_TEAM_URL="https://127.0.0.1:$TEAM_RS_PORT" \
  RESOURCE_SERVER_RESOURCE="https://127.0.0.1:$RS_PORT/" E2E_MODE=credentials \
  "$PYTHON" -m pytest -p no:cacheprovider tests/compose/test_production.py tests/test_client_credentials.py \
  tests/test_metadata.py tests/test_authorization_code.py tests/test_notes.py tests/test_revocation.py \
  tests/test_introspection_callers.py tests/test_openid_connect.py tests/compose/test_issuer.py \
  tests/compose/test_signed_introspection.py
