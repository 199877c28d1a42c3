"""The Compose deployment itself (collected only under make test-compose)."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from shared import gunicorn_conf

from ..stack import ROOT, compose
from .containers import HARDENED, IMAGE, docker, inspect, python_in, services

CREDENTIALS = "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS="

# Who is on which network: the proxy is the only way in, only the APIs reach Redis,
# and Prometheus (the metrics profile, which make test-compose turns on) the servers' metrics.
NETWORKS = {
    "proxy": {"edge"},
    "auth-server": {"edge", "database", "metrics"},
    "resource-server": {"edge", "database", "cache", "metrics"},
    "team-server": {"edge", "database", "cache", "metrics"},
    "auth-migrate": {"database"},
    "auth-housekeeping": {"database"},
    "resource-migrate": {"database"},
    "team-migrate": {"database"},
    "postgres": {"database"},
    "redis": {"cache"},
    "prometheus": {"metrics", "metrics-web"},
}

# Whether a TCP connection to argv[1]:argv[2] opens, or the name of the error.
CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
except OSError as error:
    print(type(error).__name__)
else:
    print("connected")
"""

# Redis's first reply line to a PING alone, then to AUTH with the API's own
# password (from its RS_CACHE_URL) and a PING.
REDIS_REPLIES = """
import os, socket
from urllib.parse import urlsplit

def replies(*commands):
    with socket.create_connection(("redis", 6379), timeout=3) as connection:
        connection.sendall("".join(f"{command}\\r\\n" for command in commands).encode())
        lines = connection.makefile("rb")
        return [lines.readline().decode().strip() for _ in commands]

print(*replies("PING"))
print(*replies(f"AUTH {urlsplit(os.environ['RS_CACHE_URL']).password}", "PING"))
"""


def test_every_long_running_service_is_healthy_and_the_jobs_completed():
    state = services()

    for name in ("proxy", "postgres", "redis", "auth-server", "resource-server", "team-server"):
        assert state[name]["Health"] == "healthy", state[name]
    for job in ("auth-migrate", "resource-migrate", "team-migrate"):
        assert state[job]["State"] == "exited" and state[job]["ExitCode"] == 0, state[job]


def test_only_the_proxy_and_prometheus_publish_ports_and_on_loopback_only():
    published = {
        name: {(p["URL"], p["PublishedPort"], p["TargetPort"]) for p in row["Publishers"] if p["PublishedPort"]}
        for name, row in services().items()
    }

    assert published.pop("proxy") == {
        ("127.0.0.1", int(os.environ["AS_PORT"]), 8000),
        ("127.0.0.1", int(os.environ["RS_PORT"]), 8001),
        ("127.0.0.1", int(os.environ["TEAM_RS_PORT"]), 8002),
    }
    assert published.pop("prometheus") == {("127.0.0.1", int(os.environ["PROMETHEUS_PORT"]), 9090)}
    assert published == {name: set() for name in NETWORKS if name not in ("proxy", "prometheus")}


def test_each_service_is_on_the_networks_it_needs_and_no_other():
    project = os.environ["E2E_COMPOSE_PROJECT"]

    for service, expected in NETWORKS.items():
        networks = inspect(service)["NetworkSettings"]["Networks"]
        assert {name.removeprefix(f"{project}_") for name in networks} == expected, service
    for name in ("database", "cache", "metrics"):
        assert json.loads(docker("network", "inspect", f"{project}_{name}").stdout)[0]["Internal"] is True, name


def test_redis_is_reachable_from_the_apis_only():
    assert python_in("auth-server", CONNECT, "redis", "6379").stdout.strip() in ("gaierror", "ConnectionRefusedError")
    for api in ("resource-server", "team-server"):
        assert python_in(api, CONNECT, "redis", "6379").stdout.strip() == "connected", api


def test_redis_refuses_commands_without_the_password_which_no_command_line_shows():
    password = os.environ["REDIS_PASSWORD"]

    without, with_password = python_in("resource-server", REDIS_REPLIES).stdout.splitlines()

    assert without.startswith("-NOAUTH"), without
    assert with_password == "+OK +PONG"
    # One Redis database per API: each its own token cache.
    for api, database in (("resource-server", 0), ("team-server", 1)):
        assert f"RS_CACHE_URL=redis://:{password}@redis:6379/{database}" in inspect(api)["Config"]["Env"], api
    command_lines = compose("exec", "-T", "redis", "sh", "-c", "cat /proc/[0-9]*/cmdline").stdout
    assert "redis-server" in command_lines
    assert password not in json.dumps(inspect("redis")) + command_lines


@pytest.mark.parametrize(
    "header", ["SCRIPT_NAME: /elsewhere", "Path_Info: /elsewhere", "X-Forwarded-Ssl: on", "X-Forwarded-Protocol: ssl"]
)
def test_the_proxy_drops_what_the_servers_take_only_from_a_trusted_front_end(stack, header):
    name, _, value = header.partition(": ")

    response = requests.get(
        f"{stack.auth_url}/accounts/profile/", headers={name: value}, allow_redirects=False, timeout=10
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/?next=/accounts/profile/"


def test_app_containers_and_the_proxy_are_read_only_with_no_capability_and_no_privilege_gain():
    for service in HARDENED:
        host = inspect(service)["HostConfig"]
        assert host["ReadonlyRootfs"] is True, service
        assert host["CapDrop"] == ["ALL"], service
        assert "no-new-privileges:true" in host["SecurityOpt"], service
        # The proxy keeps one: the official image's caddy binary carries it as a file capability.
        kept = [name.removeprefix("CAP_") for name in host["CapAdd"] or []]
        assert kept == (["NET_BIND_SERVICE"] if service == "proxy" else []), service

    for service, bounding in (("auth-server", 0), ("resource-server", 0), ("team-server", 0), ("proxy", 1 << 10)):
        status = dict(
            line.split(":\t") for line in compose("exec", "-T", service, "cat", "/proc/1/status").stdout.splitlines()
        )
        assert int(status["CapBnd"], 16) == bounding, service
        assert status["NoNewPrivs"] == "1", service
        written = compose("exec", "-T", service, "touch", "/probe", check=False)
        assert written.returncode != 0 and "Read-only file system" in written.stderr, service


def test_image_runs_as_a_non_root_user_and_holds_no_env_file_or_secret():
    user = docker("run", "--rm", "--entrypoint", "id", IMAGE, "-u").stdout.strip()
    files = docker("run", "--rm", "--entrypoint", "sh", IMAGE, "-c", "ls -a /app").stdout.split()
    config = docker("image", "inspect", IMAGE, "--format", "{{json .Config.Env}}").stdout
    history = docker("history", "--no-trunc", IMAGE).stdout

    assert user != "0"
    assert ".env" not in files and ".git" not in files
    for name in (
        "AS_SECRET_KEY",
        "RS_SECRET_KEY",
        "TEAM_RS_SECRET_KEY",
        "OAUTH_RS_CLIENT_SECRET",
        "OAUTH_RS_TEAM_CLIENT_SECRET",
        "DEMO_CLIENT_SECRET",
        "DEMO_WEB_CLIENT_SECRET",
        "OIDC_RSA_PRIVATE_KEY",
        "POSTGRES_PASSWORD",
        "TEAM_RS_DB_PASSWORD",
        "REDIS_PASSWORD",
    ):
        assert os.environ[name] not in config + history
        assert name not in config


@pytest.mark.parametrize(
    "secret", ["AS_SECRET_KEY", "OIDC_RSA_PRIVATE_KEY", "REDIS_PASSWORD", "TEAM_RS_SECRET_KEY", "TEAM_RS_DB_PASSWORD"]
)
def test_a_missing_secret_stops_compose_with_its_name(tmp_path, secret):
    incomplete = tmp_path / "incomplete.env"
    lines = Path(os.environ["E2E_ENV_FILE"]).read_text().splitlines()
    incomplete.write_text("\n".join(line for line in lines if not line.startswith(f"{secret}=")) + "\n")
    env = {k: v for k, v in os.environ.items() if k != secret}

    result = subprocess.run(
        ["docker", "compose", "-p", "split-oauth2-missing-secret", "--env-file", str(incomplete), "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )

    assert result.returncode != 0
    assert secret in result.stderr


def test_compose_gives_an_api_the_client_id_of_its_credentials_not_the_seeded_one(tmp_path):
    """An API introspecting as another client than the seeded one is that client, the aud of its signed
    answers: the seeded client_id beside those credentials would stop it from starting. An older .env,
    upgraded with --add-missing as docs/compose.md says."""
    lines = Path(os.environ["E2E_ENV_FILE"]).read_text().splitlines()
    kept = [line for line in lines if not line.startswith(("RESOURCE_SERVER_CLIENT_ID=", CREDENTIALS))]
    (tmp_path / ".env").write_text("\n".join([*kept, f'{CREDENTIALS}"billing:an0ther"']) + "\n")
    (tmp_path / ".env.example").write_text((ROOT / ".env.example").read_text())
    upgrade = subprocess.run(
        ["python3", "-m", "shared.dotenv", "--add-missing"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert upgrade.returncode == 0, upgrade.stderr

    result = subprocess.run(
        ["docker", "compose", "-p", "split-oauth2-client-id", "--env-file", str(tmp_path / ".env")]
        + ["config", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        # The suite's environment holds the stack's own values, which Compose would prefer to the file's.
        env={name: value for name, value in os.environ.items() if not name.startswith("RESOURCE_SERVER_")},
    )

    assert result.returncode == 0, result.stderr
    api = json.loads(result.stdout)["services"]["resource-server"]["environment"]
    assert api["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"] == "billing:an0ther"
    assert api["RESOURCE_SERVER_CLIENT_ID"] == "billing"


def test_the_database_script_gives_a_running_stack_an_api_it_did_not_have(team_api):
    """PostgreSQL runs the script on a new volume only: an upgraded stack runs it by hand (docs/compose.md)."""
    psql = ("exec", "-T", "postgres", "psql", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-Atc")
    script = ("exec", "-T", "postgres", "sh", "/docker-entrypoint-initdb.d/10-databases.sh")
    compose("stop", "team-server")
    compose(*psql, "DROP DATABASE team_server WITH (FORCE)")
    compose(*psql, "DROP ROLE team_server")

    compose(*script)
    compose(*script)
    compose("up", "-d", "--no-build", "--wait", "--wait-timeout", "120", "team-server")

    owners = compose(*psql, "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE '%_server'")
    assert sorted(owners.stdout.split()) == [
        f"{name}|{name}" for name in ("auth_server", "resource_server", "team_server")
    ]
    assert services()["team-migrate"]["ExitCode"] == 0
    assert requests.get(f"{team_api}/healthz", timeout=10).status_code == 200
    missing = compose("exec", "-T", "-e", "TEAM_RS_DB_PASSWORD=", *script[2:], check=False)
    assert missing.returncode != 0 and "TEAM_RS_DB_PASSWORD is empty or not set" in missing.stderr


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


# The proxy's connections to the server (ESTABLISHED, to local port 8000, from
# the proxy's address) as the server's kernel lists them.
PROXY_CONNECTIONS = """
import socket
proxy = socket.inet_aton(socket.gethostbyname("proxy"))[::-1].hex().upper()
with open("/proc/net/tcp") as table:
    rows = [line.split() for line in table.readlines()[1:]]
print(sum(1 for row in rows if row[3] == "01" and row[1].endswith(":1F40") and row[2].startswith(proxy)))
"""


@pytest.mark.parametrize("service", ["auth-server", "resource-server", "team-server"])
def test_the_proxy_lets_go_of_an_idle_connection_before_the_server_does(stack, team_api, service):
    # gunicorn closes a keep-alive connection after `keepalive` idle seconds. A
    # proxy that holds it longer may send a request just as the server closes
    # it: the request fails, and a POST (a token request) is not retried but
    # answered 502, with the server marked down for fail_duration.
    url = {"auth-server": stack.auth_url, "resource-server": stack.resource_url, "team-server": team_api}[service]
    assert requests.get(f"{url}/healthz", timeout=10).status_code == 200
    assert int(python_in(service, PROXY_CONNECTIONS).stdout) >= 1

    time.sleep(gunicorn_conf.keepalive - 1)

    assert int(python_in(service, PROXY_CONNECTIONS).stdout) == 0
