"""The containers of the Compose project that make test-compose started, as Docker sees them."""

import json
import os
import subprocess

from ..stack import compose

IMAGE = os.environ.get("APP_IMAGE", "split-oauth2-django:latest")
# The app's services: the AS, the first API and the team API, each with its migrate job.
APP = ("auth-migrate", "resource-migrate", "team-migrate", "auth-server", "resource-server", "team-server")
# The AS's image and environment too, clearing expired tokens and sessions.
JOBS = ("auth-housekeeping",)
SERVICES = ("proxy", "postgres", "redis", *APP, *JOBS)
# The app containers and the proxy: read-only, no capability, no privilege gain.
HARDENED = ("proxy", *APP, *JOBS)


def docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=120)


def services() -> dict:
    """``docker compose ps`` of every service, running or exited, by service name."""
    output = compose("ps", "--all", "--format", "json").stdout
    rows = [json.loads(line) for line in output.splitlines() if line.strip()]
    return {row["Service"]: row for row in rows}


def inspect(service: str) -> dict:
    """``docker inspect`` of the service's (only) container."""
    container = compose("ps", "--all", "--quiet", service).stdout.split()
    assert len(container) == 1, f"{service}: {container}"
    return json.loads(docker("inspect", container[0]).stdout)[0]


def python_in(service: str, script: str, *args: str) -> subprocess.CompletedProcess:
    """Run a Python script in the service's running container."""
    return compose("exec", "-T", service, "python", "-c", script, *args, check=False)
