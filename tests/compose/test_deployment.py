"""The Compose deployment itself (collected only under make test-compose)."""

import json
import os
import subprocess

from ..stack import ROOT, compose

IMAGE = os.environ.get("APP_IMAGE", "split-oauth2-django:latest")


def docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=120)


def services() -> dict:
    output = compose("ps", "--all", "--format", "json").stdout
    rows = [json.loads(line) for line in output.splitlines() if line.strip()]
    return {row["Service"]: row for row in rows}


def test_every_long_running_service_is_healthy_and_the_jobs_completed():
    state = services()

    for name in ("postgres", "redis", "auth-server", "resource-server"):
        assert state[name]["Health"] == "healthy", state[name]
    for job in ("auth-migrate", "resource-migrate"):
        assert state[job]["State"] == "exited" and state[job]["ExitCode"] == 0, state[job]


def test_servers_are_published_on_loopback_only():
    assert compose("port", "auth-server", "8000").stdout.strip() == f"127.0.0.1:{os.environ['AS_PORT']}"
    assert compose("port", "resource-server", "8000").stdout.strip() == f"127.0.0.1:{os.environ['RS_PORT']}"
    assert compose("port", "postgres", "5432", check=False).stdout.strip() in ("", ":0")


def test_image_runs_as_a_non_root_user_and_holds_no_env_file_or_secret():
    user = docker("run", "--rm", "--entrypoint", "id", IMAGE, "-u").stdout.strip()
    files = docker("run", "--rm", "--entrypoint", "sh", IMAGE, "-c", "ls -a /app").stdout.split()
    config = docker("image", "inspect", IMAGE, "--format", "{{json .Config.Env}}").stdout
    history = docker("history", "--no-trunc", IMAGE).stdout

    assert user != "0"
    assert ".env" not in files and ".git" not in files
    for name in ("AS_SECRET_KEY", "RS_SECRET_KEY", "OAUTH_RS_CLIENT_SECRET", "DEMO_CLIENT_SECRET"):
        assert os.environ[name] not in config + history
        assert name not in config


def test_deploy_checks_pass_in_the_containers_behind_https():
    for service, server in (("auth-server", "auth_server"), ("resource-server", "resource_server")):
        result = compose(
            "run", "--rm", "--no-deps", "-e", "DJANGO_HTTPS=true", service,
            "python", f"{server}/manage.py", "check", "--deploy", "--fail-level", "WARNING",
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues" in result.stdout


def test_a_missing_secret_stops_compose_with_its_name(tmp_path):
    incomplete = tmp_path / "incomplete.env"
    lines = open(os.environ["E2E_ENV_FILE"]).read().splitlines()
    incomplete.write_text("\n".join(line for line in lines if not line.startswith("AS_SECRET_KEY=")) + "\n")
    env = {k: v for k, v in os.environ.items() if k != "AS_SECRET_KEY"}

    result = subprocess.run(
        ["docker", "compose", "-p", "split-oauth2-missing-secret", "--env-file", str(incomplete), "config"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=env,
    )

    assert result.returncode != 0
    assert "AS_SECRET_KEY" in result.stderr


def test_notes_users_and_clients_survive_down_and_up(client):
    token = client.authorization_code_tokens(scope="read write")["access_token"]
    note = client.api("/api/notes/", token, method="POST", json={"text": "kept across restarts"}).json()

    compose("down")
    compose("up", "-d", "--no-build", "--wait", "--wait-timeout", "240")

    fresh = client.authorization_code_tokens(scope="read")["access_token"]
    notes = client.api("/api/notes/", fresh)
    assert notes.status_code == 200
    assert note["id"] in [n["id"] for n in notes.json()]
    assert client.client_credentials(scope="read").status_code == 200
