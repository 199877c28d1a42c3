#!/bin/sh
# The production profile's proxy: Caddy, and a copy of its local CA's
# certificate in /ca (the volume the resource server mounts read-only) once
# Caddy has made the CA. The CA's key stays in /data, which only the proxy mounts.
set -eu
root=/data/caddy/pki/authorities/local/root.crt
# Detached, so that it is the container's init, not Caddy, that reaps it.
( (
  until [ -s "$root" ]; do sleep 0.2; done
  cp "$root" /ca/root.crt.new
  chmod 0644 /ca/root.crt.new
  mv -f /ca/root.crt.new /ca/root.crt
) & )
exec caddy run --config /etc/caddy/production.Caddyfile --adapter caddyfile
