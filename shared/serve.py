"""Serve the authorization server and the example APIs with gunicorn, or run one's manage.py.

    python -m shared.serve auth|resource|team|all
    python -m shared.serve manage auth|resource|team COMMAND [ARGS...]

``resource`` is the first example API, ``team`` the second: the same
resource_server project with another identity, configured by the ``TEAM_``
variables with that prefix removed (TEAM_RS_SECRET_KEY reaches it as
RS_SECRET_KEY). ``all`` serves the three (``both`` is its former name).

Each server gets only what it may see (shared.settings.AUDIENCES): its own
variables, from the process environment first and .env second, and the process
basics (PATH, HOME, LANG, VIRTUAL_ENV...) that belong to no audience. Ports come
from AS_PORT, RS_PORT and TEAM_RS_PORT, and the gunicorn masters' metrics ports
(shared/metrics.py) from AS_METRICS_PORT, RS_METRICS_PORT and TEAM_RS_METRICS_PORT.
In the foreground: Ctrl-C stops every
server, and if one server exits the others are stopped too.
"""

import os
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from shared.configuration import check_gunicorn_numbers
from shared.settings import DERIVED, PORTS, audience_of, derived, dotenv_for

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Instance:
    project: str  # the Django project's directory
    audience: str  # shared.settings.AUDIENCES
    port_variable: str  # as the user sets it
    default_port: int
    metrics_port_variable: str  # the gunicorn master's /metrics (shared/metrics.py)
    default_metrics_port: int
    prefix: str = ""  # removed from the names of its variables
    fixed: dict = field(default_factory=dict)  # set whatever the environment says


SERVERS = {
    "auth": Instance("auth_server", "auth_server", "AS_PORT", PORTS["AS_PORT"], "AS_METRICS_PORT", 9100),
    "resource": Instance("resource_server", "resource_server", "RS_PORT", PORTS["RS_PORT"], "RS_METRICS_PORT", 9101),
    # The team instance's settings must not read .env: they would take the first
    # API's RS_* and RESOURCE_SERVER_* values for whatever the team leaves unset.
    "team": Instance(
        "resource_server",
        "team",
        "TEAM_RS_PORT",
        PORTS["TEAM_RS_PORT"],
        "TEAM_RS_METRICS_PORT",
        9102,
        prefix="TEAM_",
        fixed={"RS_NAME": "team_server", "DJANGO_READ_DOT_ENV_FILE": "false"},
    ),
}
EVERY = "all"
FORMER_NAMES = {"both": EVERY}


def environment_of(server: str) -> dict[str, str]:
    instance = SERVERS[server]

    def visible(name: str) -> bool:
        audiences = audience_of(name)
        return not audiences or instance.audience in audiences

    inherited = {name: value for name, value in os.environ.items() if visible(name)}
    own = {**dotenv_for(ROOT, instance.audience), **inherited}
    # The values that follow a port (shared.settings.DERIVED), here for the team API too, which reads no .env.
    ports = {SERVERS[name].port_variable: port(name) for name in SERVERS}
    own.update({name: own.get(name) or derived(name, ports) for name in DERIVED if visible(name)})
    if instance.prefix:
        # TEAM_LOG_LEVEL wins over LOG_LEVEL for the team instance.
        prefixed = {
            name.removeprefix(instance.prefix): value for name, value in own.items() if name.startswith(instance.prefix)
        }
        own = {**{name: value for name, value in own.items() if not name.startswith(instance.prefix)}, **prefixed}
    return {"DJANGO_SETTINGS_MODULE": "config.settings.local", **own, **instance.fixed}


def port(server: str, metrics: bool = False) -> str:
    instance = SERVERS[server]
    variable, default = (
        (instance.metrics_port_variable, instance.default_metrics_port)
        if metrics
        else (instance.port_variable, instance.default_port)
    )
    value = os.environ.get(variable) or dotenv_for(ROOT, instance.audience).get(variable)
    return value or str(default)


def start(server: str, environment: dict[str, str]) -> subprocess.Popen:
    host = environment.get("BIND_HOST", "127.0.0.1")
    # Each server's own metrics port and multiprocess directory (the fresh one gunicorn's
    # configuration makes, shared/metrics.py): a GUNICORN_METRICS_BIND or a
    # PROMETHEUS_MULTIPROC_DIR of the environment would be all three's, their counts mixed.
    binds = {"GUNICORN_BIND": f"{host}:{port(server)}", "GUNICORN_METRICS_BIND": f"{host}:{port(server, metrics=True)}"}
    command = [sys.executable, "-m", "gunicorn", "-c", "python:shared.gunicorn_conf", "config.wsgi"]
    # A fixed command line: nothing in it comes from a request or a file (S603).
    return subprocess.Popen(  # noqa: S603
        command, cwd=ROOT / SERVERS[server].project, env={**without_metrics_directory(environment), **binds}
    )


def without_metrics_directory(environment: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in environment.items() if name != "PROMETHEUS_MULTIPROC_DIR"}


def manage(server: str, arguments: list[str]) -> int:
    """``manage.py`` of ``server``'s project, with exactly the environment its server gets.

    Without an exported PROMETHEUS_MULTIPROC_DIR, which start() drops too: a command
    is no server, and its files there would count as a worker's (shared.metrics.for_a_command).
    """
    command = [sys.executable, "manage.py", *arguments]
    environment = without_metrics_directory(environment_of(server))
    # The arguments are the caller's own command line, run as the caller (S603).
    return subprocess.run(command, cwd=ROOT / SERVERS[server].project, env=environment).returncode  # noqa: S603


def demo_command(auth_port: str, resource: str, scope: str, api_port: str) -> str:
    """A client-credentials token for one API (RFC 8707 ``resource``), and a call to that API with it."""
    token_url = f"http://127.0.0.1:{auth_port}/o/token/"
    me_url = f"http://127.0.0.1:{api_port}/api/me/"
    get_token = (
        f'curl -s -u "$DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET" -d grant_type=client_credentials'
        f" -d scope={scope} -d resource={shlex.quote(resource)} {token_url}"
        ' | sed -E \'s/.*"access_token": ?"([^"]+)".*/\\1/\''
    )
    return f'. ./.env && curl -s -H "Authorization: Bearer $({get_token})" {me_url}'


def demo(environments: dict[str, dict[str, str]]) -> str:
    """``environments``: each server's (environment_of), whose RESOURCE_SERVER_RESOURCE may be derived."""
    auth, resource, team = (port(server) for server in SERVERS)
    resources = {server: environments[server]["RESOURCE_SERVER_RESOURCE"] for server in ("resource", "team")}
    return (
        f"\nAuthorization server: http://127.0.0.1:{auth}/  "
        f"Resource server: http://127.0.0.1:{resource}/  Team API: http://127.0.0.1:{team}/\n"
        "Get a client-credentials token for each API and call that API with it:\n\n"
        f"  {demo_command(auth, resources['resource'], 'read', resource)}\n\n"
        f"  {demo_command(auth, resources['team'], 'team:read', team)}\n"
    )


def serve(which: str) -> int:
    names = list(SERVERS) if which == EVERY else [which]
    environments = {name: environment_of(name) for name in names}
    # Before any server starts: gunicorn would trace back on a bad WEB_CONCURRENCY as it is imported.
    for name, environment in environments.items():
        check_gunicorn_numbers(SERVERS[name].project, environment)
    processes = [start(name, environment) for name, environment in environments.items()]
    if which == EVERY:
        print(demo(environments), flush=True)

    def stop(*_):
        for process in processes:
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        # Wait for the first server to exit, then stop the others.
        _, status = os.wait()
        stop()
        for process in processes:
            process.wait()
        return os.waitstatus_to_exitcode(status)
    finally:
        stop()


USAGE = """usage: python -m shared.serve auth|resource|team|all
       python -m shared.serve manage auth|resource|team COMMAND [ARGS...]"""


def main(arguments: list[str]) -> int | str:
    if len(arguments) >= 3 and arguments[0] == "manage" and arguments[1] in SERVERS:
        return manage(arguments[1], arguments[2:])
    if len(arguments) == 1:
        which = FORMER_NAMES.get(arguments[0], arguments[0])
        if which in (*SERVERS, EVERY):
            return serve(which)
    return USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
