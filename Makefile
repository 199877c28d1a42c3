# Every target a user needs; `make help` lists them.
SHELL := bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help env install migrate migrate-auth migrate-resource migrate-team static run run-auth run-resource run-team doctor \
	lint test test-unit test-e2e chromium test-compose test-kubernetes kubernetes-env bench demo up down logs lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# On an existing .env: only the variables a newer .env.example added, with
# generated secrets; it says which names, never a value, and changes nothing else.
env: ## Write .env with fresh secrets, or add the variables a newer .env.example has
	@$(PYTHON) -m shared.dotenv --update .env.example .env

# Standard library only, under a file lock: targets started together share one install.
install: ## Create .venv with the locked dependencies
	@$(PYTHON) -m shared.install

# Each target prepares only its own server's database: two targets started
# together never migrate the same one.
migrate-auth: env install ## Migrate and seed the authorization server's database
	cd auth_server && ../$(BIN)/python manage.py migrate --no-input -v0
	cd auth_server && ../$(BIN)/python manage.py seed

migrate-resource: env install ## Migrate the resource server's database
	cd resource_server && ../$(BIN)/python manage.py migrate --no-input -v0

# The team API is the resource server project with the TEAM_ variables: the
# launcher gives manage.py exactly the environment the team server gets.
migrate-team: env install ## Migrate the team API's database
	$(BIN)/python -m shared.serve manage team migrate --no-input -v0

migrate: migrate-auth migrate-resource migrate-team ## Migrate every database and seed the authorization server

# DEBUG is off under make run, so WhiteNoise serves the admin and login pages'
# static files from STATIC_ROOT, as in production.
static: env install ## Collect the authorization server's static files
	cd auth_server && ../$(BIN)/python manage.py collectstatic --no-input -v0

run: migrate static ## Serve the AS and both APIs in the foreground (Ctrl-C stops them all)
	@$(BIN)/python -m shared.serve all

run-auth: migrate-auth static ## Serve only the authorization server
	@$(BIN)/python -m shared.serve auth

run-resource: migrate-resource ## Serve only the resource server
	@$(BIN)/python -m shared.serve resource

run-team: migrate-team ## Serve only the team API (the second example API)
	@$(BIN)/python -m shared.serve team

# Against the servers make run serves (in another terminal): each runs its own
# manage.py doctor with its own environment; every check runs, the exit is 1 if any failed.
doctor: install ## Check the running stack end to end: one line per check, what is wrong and what to do
	@status=0; for server in auth resource team; do \
	  $(BIN)/python -m shared.serve manage $$server doctor || status=1; done; exit $$status

test: lint test-unit test-e2e ## Lint, unit tests of both servers, then the end-to-end suite

lint: install ## ruff: lint and format check (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-unit: install
	cd auth_server && ../$(BIN)/python manage.py test --settings=config.settings.test
	cd resource_server && ../$(BIN)/python manage.py test --settings=config.settings.test

test-e2e: install chromium
	$(BIN)/python -m pytest

# The browser tests drive Debian's chromium (Playwright never downloads one):
# installed here when missing and allowed, as make bench installs wrk.
chromium:
	@[ -x /usr/bin/chromium ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null; } \
	  || { echo >&2 "make test: the browser tests need Debian's chromium at /usr/bin/chromium:" \
	    "run apt-get install chromium as root, or make test as root"; exit 1; }

test-compose: install ## The end-to-end suite against the Compose stack (sets up Docker if needed)
	tests/compose/run.sh

# Renders every overlay of deploy/kubernetes from a fresh .env with kubectl kustomize,
# validates each object against the Kubernetes versions tests/kubernetes/versions.py
# names, and checks the rules docs/kubernetes.md gives. No cluster is needed, or used.
test-kubernetes: install ## Render, validate and check the Kubernetes manifests (kubectl, no cluster)
	@command -v kubectl >/dev/null || { echo >&2 "make test-kubernetes: kubectl not found (it renders the overlays with kubectl kustomize): install kubectl 1.32"; exit 1; }
	$(BIN)/python -m pytest -p no:cacheprovider tests/kubernetes

bench: install ## Load benchmark of the hot paths; writes docs/benchmarks.{json,md}
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >/dev/null; } \
	  || echo "bench: wrk not found, using the Python load generator"
	$(BIN)/python -m bench.run

demo: env install ## Serve the demo web app on 127.0.0.1:8003 (DEMO_WEB_PORT), signing in at the running stack
	@$(BIN)/python -m tests.relying_party

up: env ## docker compose up: the whole stack in the background, healthy
	docker compose up -d --wait

down: ## docker compose down (data stays in volumes; `docker compose down -v` starts over)
	docker compose down

logs: ## Follow the Compose stack's logs
	docker compose logs -f

# Kustomize reads no file above an overlay's folder, so the overlay's ConfigMaps and
# Secrets come from env files written into its git-ignored generated/ folder from
# .env (docs/kubernetes.md). The virtual environment: the generator reads
# shared.settings' audiences, which import Django.
OVERLAY ?= local
kubernetes-env: env install ## Write the Kubernetes overlay's env files from .env (OVERLAY=local|production)
	@$(BIN)/python -m shared.kubernetes $(OVERLAY) .env

# --universal: one lock for every Python 3.11 (Debian's 3.11.2 needs async-timeout).
UV_COMPILE := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes

lock: install ## Re-resolve requirements*.lock from pyproject.toml
	$(BIN)/pip install --quiet uv
	$(UV_COMPILE) -o requirements.lock pyproject.toml
	$(UV_COMPILE) --extra test -o requirements-test.lock pyproject.toml

clean: ## Remove the virtual environment and the local SQLite databases
	rm -rf $(VENV) var auth_server/staticfiles
