"""``make run-auth``, ``make run-resource`` and ``make run-team`` started together in a fresh copy, then ``make run``.

As three terminals or a process manager would start them: no .venv, no .env and no
var/ yet, so each target installs, writes .env and prepares its server before
serving it with the local settings. The copy holds the files of the work tree that
git would commit. Installing takes about half a minute; the module runs it once.
Last, ``make run`` serves the AS and both example APIs from that copy.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from .stack import ROOT, free_port

STARTUP_SECONDS = 600
# Names a developer's shell may hold for this project, or that would steer make
# or Python; the targets must work from .env alone.
NOT_INHERITED = (
    "AS_",
    "RS_",
    "OAUTH_",
    "DEMO_",
    "RESOURCE_SERVER_",
    "TEAM_",
    "DJANGO_",
    "GUNICORN_",
    "POSTGRES_",
    "REDIS_",
    "WEB_CONCURRENCY",
    "BIND_HOST",
    "MAKE",
    "MFLAGS",
    "PYTHON",
    "VIRTUAL_ENV",
)


def fresh_copy(destination: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split(b"\0")):
        source = ROOT / os.fsdecode(name)
        if source.is_file():  # not deleted from the work tree
            target = destination / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def terminal_environment(serving: bool = True, **variables: str) -> dict:
    """A developer's shell, without this project's variables or an active virtual environment.

    ``serving``: it will start servers, which need free metrics ports.
    """
    environment = {name: value for name, value in os.environ.items() if not name.startswith(NOT_INHERITED)}
    virtual_environment = str(Path(sys.prefix) / "bin")
    environment["PATH"] = os.pathsep.join(
        folder for folder in os.environ["PATH"].split(os.pathsep) if folder != virtual_environment
    )
    # Free metrics ports (shared.serve's defaults are fixed): several suites run at once on one machine.
    ports = ("AS_METRICS_PORT", "RS_METRICS_PORT", "TEAM_RS_METRICS_PORT") if serving else ()
    metrics_ports = {name: str(free_port()) for name in ports}
    return {**environment, **metrics_ports, **variables}


def dotenv(path: Path) -> dict:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def process_group(leader: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue  # exited meanwhile
            if int(fields[2]) == leader:
                members.append(int(entry.name))
    return members


@dataclass
class Target:
    """One ``make`` target in its own process group, as a terminal runs it."""

    name: str
    url: str
    log: Path
    process: subprocess.Popen | None = None
    others: tuple[str, ...] = ()  # more servers the target serves

    def start(self, repository: Path, environment: dict) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["make", self.name],
                cwd=repository,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def serving(self) -> bool:
        try:
            return all(requests.get(f"{url}/healthz", timeout=2).status_code == 200 for url in (self.url, *self.others))
        except (requests.ConnectionError, requests.Timeout):
            # A worker still loading the application on a busy machine: not serving yet.
            return False

    def environments(self) -> list[tuple[str, dict]]:
        """The command line and the environment of every process the target started."""
        return [(command, environment) for command, _, environment in self.processes()]

    def processes(self) -> list[tuple[str, Path, dict]]:
        """The command line, the working directory and the environment of every process the target started."""
        found = []
        for pid in process_group(self.process.pid):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                directory = Path(os.readlink(f"/proc/{pid}/cwd"))
                pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            found.append((command, directory, dict(pair.decode().split("=", 1) for pair in pairs if b"=" in pair)))
        return found

    def stop(self) -> None:
        if self.process is None:
            return
        group = self.process.pid
        for sig, seconds in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + seconds
            while process_group(group) and time.monotonic() < deadline:
                self.process.poll()  # reap make, the leader
                time.sleep(0.2)
        self.process.wait(timeout=10)


def wait_until_serving(targets: list[Target]) -> None:
    """Until every target answers /healthz, or one of them has exited."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if all(target.serving() for target in targets):
            return
        if any(target.process.poll() is not None for target in targets):
            return
        time.sleep(0.5)


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    return fresh_copy(tmp_path_factory.mktemp("fresh-copy"))


@pytest.fixture(scope="module")
def together(repository, tmp_path_factory):
    auth_port, resource_port, team_port = free_port(), free_port(), free_port()
    environment = terminal_environment(
        AS_PORT=str(auth_port),
        RS_PORT=str(resource_port),
        TEAM_RS_PORT=str(team_port),
        RESOURCE_SERVER_INTROSPECTION_URL=f"http://127.0.0.1:{auth_port}/o/introspect/",
        TEAM_RESOURCE_SERVER_INTROSPECTION_URL=f"http://127.0.0.1:{auth_port}/o/introspect/",
        RESOURCE_SERVER_RESOURCE=f"http://127.0.0.1:{resource_port}/",
        TEAM_RESOURCE_SERVER_RESOURCE=f"http://127.0.0.1:{team_port}/",
    )
    logs = tmp_path_factory.mktemp("logs")
    targets = {
        "auth": Target("run-auth", f"http://127.0.0.1:{auth_port}", logs / "run-auth.log"),
        "resource": Target("run-resource", f"http://127.0.0.1:{resource_port}", logs / "run-resource.log"),
        "team": Target("run-team", f"http://127.0.0.1:{team_port}", logs / "run-team.log"),
    }
    try:
        for target in targets.values():
            target.start(repository, environment)
        wait_until_serving(list(targets.values()))
        yield targets
    finally:
        for target in targets.values():
            target.stop()


def test_the_targets_come_up_when_started_together(together):
    logs = "".join(target.log.read_text() for target in together.values())
    for target in together.values():
        response = requests.get(f"{target.url}/healthz", timeout=5)
        assert response.status_code == 200, logs
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"status": "ok"}
    # One target wrote .env; the others found it complete.
    assert logs.count("wrote .env with generated secrets.") == 1, logs
    assert logs.count("leaving it as it is.") == len(together) - 1, logs
    assert "Traceback" not in logs, logs


def test_targets_started_together_install_once_and_each_prepares_only_its_own_server(together):
    auth, resource, team = (together[server].log.read_text() for server in ("auth", "resource", "team"))
    logs = (auth, resource, team)
    # One pip at a time in .venv: the targets that came later waited for the first.
    installs = [log for log in logs if "install: creating .venv with the locked dependencies." in log]
    waits = [log for log in logs if "install: another make is installing .venv; waiting for it." in log]
    assert (len(installs), len(waits)) == (1, 2), logs
    # make echoes each recipe line: run-auth migrates the AS's database, run-resource the RS's, run-team the team's.
    migrate_team = ".venv/bin/python -m shared.serve manage team migrate"
    assert "cd auth_server && ../.venv/bin/python manage.py migrate" in auth
    assert "cd resource_server" not in auth and migrate_team not in auth
    assert "cd resource_server && ../.venv/bin/python manage.py migrate" in resource
    assert "cd auth_server" not in resource and migrate_team not in resource
    assert migrate_team in team
    assert "cd auth_server" not in team and "cd resource_server" not in team


@pytest.mark.parametrize("server", ["auth", "resource", "team"])
def test_a_mistyped_url_is_a_plain_404_without_the_debug_page(together, server):
    response = requests.get(f"{together[server].url}/admin-typo/", timeout=5)

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    # The AS has a page of its own (the sign-in pages' layout); the APIs, Django's plain one.
    assert ("<h1>Page not found</h1>" if server == "auth" else "<h1>Not Found</h1>") in response.text
    assert "Django tried these URL patterns" not in response.text
    for debug_page in ("URLconf", "DEBUG = True", "healthz", "o/introspect/", "api/"):
        assert debug_page not in response.text


def test_the_auth_server_serves_its_static_files_with_debug_off(together):
    login = requests.get(f"{together['auth'].url}/admin/login/", timeout=5)
    assert login.status_code == 200
    stylesheet = re.search(r'href="(/static/admin/css/[\w./-]+\.css)"', login.text)
    assert stylesheet, login.text

    response = requests.get(together["auth"].url + stylesheet.group(1), timeout=5)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert len(response.content) > 0


def assert_holds_only_its_own(target: Target, own: str, withheld: dict, withheld_prefixes: tuple) -> None:
    processes = target.environments()
    servers = [(command, environment) for command, environment in processes if "gunicorn" in command]
    # The gunicorn master and its workers (WEB_CONCURRENCY, 2 by default).
    assert len(servers) >= 2, processes
    for command, environment in servers:
        assert environment.get(own), (command, sorted(environment))
        assert not [name for name in environment if name.startswith(withheld_prefixes)], (command, sorted(environment))
    for command, environment in processes:
        held = "\0".join(f"{name}={value}" for name, value in environment.items())
        assert [name for name, value in withheld.items() if value in held] == [], command


def test_resource_server_processes_hold_none_of_the_authorization_servers_secrets(together, repository):
    secrets = dotenv(repository / ".env")
    withheld = ("AS_SECRET_KEY", "DEMO_PASSWORD", "POSTGRES_PASSWORD", "OAUTH_RS_INTROSPECTION_TOKEN")

    assert_holds_only_its_own(
        together["resource"],
        "RS_SECRET_KEY",
        {name: secrets[name] for name in withheld},
        ("AS_", "OAUTH_", "DEMO_", "POSTGRES_", "REDIS_"),
    )


def test_auth_server_processes_hold_neither_the_resource_servers_nor_the_seeds_secrets(together, repository):
    secrets = dotenv(repository / ".env")
    withheld = ("RS_SECRET_KEY", "DEMO_PASSWORD", "DEMO_CLIENT_SECRET", "POSTGRES_PASSWORD")

    assert_holds_only_its_own(
        together["auth"],
        "AS_SECRET_KEY",
        {name: secrets[name] for name in withheld},
        ("RS_", "RESOURCE_SERVER_", "OAUTH_RS_", "DEMO_", "POSTGRES_", "REDIS_"),
    )


def test_resource_server_settings_load_only_its_own_variables_from_dotenv(together, repository):
    script = (
        "import hashlib, json, os; from django.conf import settings; "
        "print(json.dumps({'names': sorted(os.environ), "
        "'secret_key': hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest()}))"
    )

    result = subprocess.run(
        [str(repository / ".venv" / "bin" / "python"), "manage.py", "shell", "-c", script],
        cwd=repository / "resource_server",
        # A shell that starts no server: an exported AS_METRICS_PORT would be the shell's, not .env's.
        env=terminal_environment(serving=False),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    secrets = dotenv(repository / ".env")
    assert loaded["secret_key"] == hashlib.sha256(secrets["RS_SECRET_KEY"].encode()).hexdigest()
    assert "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS" in loaded["names"]
    foreign = [name for name in loaded["names"] if name.startswith(("AS_", "OAUTH_", "DEMO_", "POSTGRES_", "REDIS_"))]
    assert foreign == []


@pytest.fixture(scope="module")
def resource_alone(together, repository, tmp_path_factory):
    """``make run-resource`` alone, after the others stopped and var/ was removed."""
    for target in together.values():
        target.stop()
    shutil.rmtree(repository / "var")
    port = free_port()
    environment = terminal_environment(RS_PORT=str(port), RESOURCE_SERVER_RESOURCE=f"http://127.0.0.1:{port}/")
    target = Target("run-resource", f"http://127.0.0.1:{port}", tmp_path_factory.mktemp("logs") / "alone.log")
    try:
        target.start(repository, environment)
        wait_until_serving([target])
        yield target
    finally:
        target.stop()


def test_run_resource_alone_prepares_only_the_resource_servers_database(resource_alone, repository):
    response = requests.get(f"{resource_alone.url}/healthz", timeout=5)

    assert response.status_code == 200, resource_alone.log.read_text()
    assert response.json() == {"status": "ok"}
    created = sorted(path.name for path in (repository / "var").iterdir())
    assert "resource_server.sqlite3" in created
    assert [name for name in created if name.startswith(("auth_server", "team_server"))] == []
    # The databases and the token cache are readable by their owner alone.
    assert stat.S_IMODE((repository / "var").stat().st_mode) == 0o700


@pytest.fixture(scope="module")
def run_all(resource_alone, repository, tmp_path_factory):
    """``make run`` in the same copy, after the others stopped, on the ports a developer wrote into .env."""
    resource_alone.stop()
    auth, resource, team = (f"http://127.0.0.1:{free_port()}" for _ in range(3))
    edits = {
        "AS_PORT": auth.rpartition(":")[2],
        "RS_PORT": resource.rpartition(":")[2],
        "TEAM_RS_PORT": team.rpartition(":")[2],
        "RESOURCE_SERVER_INTROSPECTION_URL": f"{auth}/o/introspect/",
        "TEAM_RESOURCE_SERVER_INTROSPECTION_URL": f"{auth}/o/introspect/",
        "RESOURCE_SERVER_RESOURCE": f"{resource}/",
        "TEAM_RESOURCE_SERVER_RESOURCE": f"{team}/",
    }
    dotenv_file = repository / ".env"
    lines = dotenv_file.read_text().splitlines()
    dotenv_file.write_text(
        "".join(
            f"{name}={edits[name]}\n" if name in edits else f"{line}\n"
            for line, name in ((line, line.partition("=")[0]) for line in lines)
        )
    )
    target = Target("run", auth, tmp_path_factory.mktemp("logs") / "run.log", others=(resource, team))
    try:
        target.start(repository, terminal_environment())
        wait_until_serving([target])
        yield target, {"auth": auth, "resource": resource, "team": team}
    finally:
        target.stop()


def test_make_run_serves_the_authorization_server_and_both_apis(run_all, repository):
    target, urls = run_all
    log = target.log.read_text()

    for url in urls.values():
        response = requests.get(f"{url}/healthz", timeout=5)
        assert response.status_code == 200, log
        assert response.json() == {"status": "ok"}
    assert "cd resource_server && ../.venv/bin/python manage.py migrate" in log
    assert ".venv/bin/python -m shared.serve manage team migrate" in log
    assert "Traceback" not in log, log
    # Each API has its own database and its own token cache.
    created = sorted(path.name for path in (repository / "var").iterdir())
    assert {"auth_server.sqlite3", "resource_server.sqlite3", "team_server.sqlite3"} <= set(created), created


def test_the_team_api_answers_with_its_own_identity(run_all):
    _, urls = run_all
    described = {
        name: requests.get(f"{urls[name]}/.well-known/oauth-protected-resource", timeout=5).json()
        for name in ("resource", "team")
    }

    assert described["team"]["resource"] == f"{urls['team']}/"
    assert described["team"]["scopes_supported"] == ["team:read", "team:write", "team:notes"]
    assert described["resource"]["resource"] == f"{urls['resource']}/"
    assert described["resource"]["scopes_supported"] == ["read", "write", "notes"]


def test_the_demo_commands_make_run_prints_call_each_api_with_a_token_asked_for_it(run_all, repository):
    target, _ = run_all
    commands = [line.strip() for line in target.log.read_text().splitlines() if line.strip().startswith(". ./.env")]
    assert len(commands) == 2, target.log.read_text()

    answers = [
        subprocess.run(
            ["bash", "-c", command],
            cwd=repository,
            env=terminal_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        for command in commands
    ]

    for answer in answers:
        assert answer.returncode == 0, answer.stderr
        assert answer.stderr == ""
    me = [json.loads(answer.stdout) for answer in answers]
    secrets = dotenv(repository / ".env")
    assert [answer["client_id"] for answer in me] == [secrets["DEMO_CLIENT_ID"]] * 2
    assert [answer["scope"] for answer in me] == ["read", "team:read"]


def test_make_run_gives_each_api_its_own_variables_and_none_of_the_others(run_all, repository):
    target, _ = run_all
    secrets = dotenv(repository / ".env")
    servers = {"auth": [], "resource": [], "team": []}
    for command, directory, environment in target.processes():
        if "gunicorn" in command:
            team = environment.get("RS_NAME") == "team_server"
            servers["auth" if directory.name == "auth_server" else "team" if team else "resource"].append(environment)
    own_secret = {"auth": "AS_SECRET_KEY", "resource": "RS_SECRET_KEY", "team": "TEAM_RS_SECRET_KEY"}
    # What only one process may hold: the other servers' keys, and each API's client secret.
    withheld = {
        "auth": ("RS_SECRET_KEY", "TEAM_RS_SECRET_KEY", "OAUTH_RS_CLIENT_SECRET", "OAUTH_RS_TEAM_CLIENT_SECRET"),
        "resource": ("AS_SECRET_KEY", "TEAM_RS_SECRET_KEY", "OAUTH_RS_TEAM_CLIENT_SECRET", "DEMO_PASSWORD"),
        "team": ("AS_SECRET_KEY", "RS_SECRET_KEY", "OAUTH_RS_CLIENT_SECRET", "DEMO_PASSWORD"),
    }

    for name, environments in servers.items():
        # The gunicorn master and its workers (WEB_CONCURRENCY, 2 by default).
        assert len(environments) >= 3, (name, servers)
        for environment in environments:
            held = "\0".join(f"{variable}={value}" for variable, value in environment.items())
            assert secrets[own_secret[name]] in held, name
            assert [variable for variable in withheld[name] if secrets[variable] in held] == [], name
            assert [variable for variable in environment if variable.startswith("TEAM_")] == [], name
    assert {environment["RS_NAME"] for environment in servers["team"]} == {"team_server"}
    assert {environment["DJANGO_READ_DOT_ENV_FILE"] for environment in servers["team"]} == {"false"}
