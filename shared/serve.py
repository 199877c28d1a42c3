"""Serve the authorization server, the resource server, or both, with gunicorn.

    python -m shared.serve auth|resource|both

Each server gets only what it may see (shared.settings.AUDIENCES): its own
variables, from the process environment first and .env second, and the process
basics (PATH, HOME, LANG, VIRTUAL_ENV...) that belong to no audience. Ports come
from AS_PORT and RS_PORT. In the foreground: Ctrl-C stops every server, and if
one server exits the other is stopped too.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from shared.settings import audience_of, dotenv_for

ROOT = Path(__file__).resolve().parent.parent
# The server's directory, which is also its audience, its port variable and default port.
SERVERS = {
    "auth": ("auth_server", "AS_PORT", 8000),
    "resource": ("resource_server", "RS_PORT", 8001),
}


def environment_of(server: str) -> dict[str, str]:
    audience = SERVERS[server][0]

    def visible(name: str) -> bool:
        audiences = audience_of(name)
        return not audiences or audience in audiences

    inherited = {name: value for name, value in os.environ.items() if visible(name)}
    return {"DJANGO_SETTINGS_MODULE": "config.settings.local", **dotenv_for(ROOT, audience), **inherited}


def port(server: str, environment: dict[str, str]) -> str:
    _, variable, default = SERVERS[server]
    return environment.get(variable) or str(default)


def start(server: str, environment: dict[str, str]) -> subprocess.Popen:
    bind = f"{environment.get('BIND_HOST', '127.0.0.1')}:{port(server, environment)}"
    command = [sys.executable, "-m", "gunicorn", "-c", "python:shared.gunicorn_conf", "config.wsgi"]
    # A fixed command line: nothing in it comes from a request or a file (S603).
    return subprocess.Popen(  # noqa: S603
        command, cwd=ROOT / SERVERS[server][0], env={**environment, "GUNICORN_BIND": bind}
    )


def demo_command(auth_port: str, resource_port: str) -> str:
    token_url = f"http://127.0.0.1:{auth_port}/o/token/"
    me_url = f"http://127.0.0.1:{resource_port}/api/me/"
    get_token = (
        f'curl -s -u "$DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET" -d grant_type=client_credentials'
        f' -d "resource=$RESOURCE_SERVER_RESOURCE" {token_url}'
        ' | sed -E \'s/.*"access_token": ?"([^"]+)".*/\\1/\''
    )
    return f'. ./.env && curl -s -H "Authorization: Bearer $({get_token})" {me_url}'


def main(which: str) -> int:
    names = list(SERVERS) if which == "both" else [which]
    environments = {name: environment_of(name) for name in names}
    processes = [start(name, environments[name]) for name in names]
    if which == "both":
        auth_port, resource_port = (port(name, environments[name]) for name in names)
        print(
            f"\nAuthorization server: http://127.0.0.1:{auth_port}/  "
            f"Resource server: http://127.0.0.1:{resource_port}/\n"
            "Get a client-credentials token and call the resource server with it:\n\n"
            f"  {demo_command(auth_port, resource_port)}\n",
            flush=True,
        )

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


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in (*SERVERS, "both"):
        sys.exit("usage: python -m shared.serve auth|resource|both")
    sys.exit(main(sys.argv[1]))
