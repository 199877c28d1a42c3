"""Serve the authorization server, the resource server, or both, with gunicorn.

    python -m shared.serve auth|resource|both

Ports come from AS_PORT and RS_PORT (process environment first, then .env).
In the foreground: Ctrl-C stops every server, and if one server exits the
other is stopped too.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from shared.settings import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
SERVERS = {
    "auth": ("auth_server", "AS_PORT", 8000),
    "resource": ("resource_server", "RS_PORT", 8001),
}


def port(server: str) -> str:
    _, variable, default = SERVERS[server]
    return os.environ.get(variable) or str(default)


def start(server: str) -> subprocess.Popen:
    directory, _, _ = SERVERS[server]
    env = {**os.environ, "GUNICORN_BIND": f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{port(server)}"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    command = [sys.executable, "-m", "gunicorn", "-c", "python:shared.gunicorn_conf", "config.wsgi"]
    return subprocess.Popen(command, cwd=ROOT / directory, env=env)


def demo_command() -> str:
    token_url = f"http://127.0.0.1:{port('auth')}/o/token/"
    me_url = f"http://127.0.0.1:{port('resource')}/api/me/"
    get_token = (
        f'curl -s -u "$DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET" -d grant_type=client_credentials {token_url}'
        " | sed -E 's/.*\"access_token\": ?\"([^\"]+)\".*/\\1/'"
    )
    return f'. ./.env && curl -s -H "Authorization: Bearer $({get_token})" {me_url}'


def main(which: str) -> int:
    # The same .env the settings read, with the same precedence; the servers inherit it.
    for name, value in dotenv_values(ROOT / ".env").items():
        os.environ.setdefault(name, value)
    names = list(SERVERS) if which == "both" else [which]
    processes = [start(name) for name in names]
    if which == "both":
        print(
            f"\nAuthorization server: http://127.0.0.1:{port('auth')}/  "
            f"Resource server: http://127.0.0.1:{port('resource')}/\n"
            "Get a client-credentials token and call the resource server with it:\n\n"
            f"  {demo_command()}\n",
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
