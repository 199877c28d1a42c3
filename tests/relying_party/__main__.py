"""``python -m tests.relying_party``: serve the demo app with gunicorn on 127.0.0.1:DEMO_WEB_PORT."""

import os
import sys

# One settings module, whatever the shell exports for the servers.
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.relying_party.settings"

from django.conf import settings  # noqa: E402 (the settings module is chosen first)

if __name__ == "__main__":
    if not settings.CLIENT_SECRET:
        sys.exit(
            "DEMO_WEB_CLIENT_SECRET is not set: make env writes it in a new .env, and"
            " python3 -m shared.dotenv --add-missing adds it to an older one; make run or make up then seeds the client"
        )
    print(f"Demo app: {settings.ORIGIN}/ (signs in at {settings.ISSUER}, calls {settings.API_URL}/api/me/)", flush=True)
    # The servers' gunicorn configuration: its access log leaves out query strings (the callback's code).
    os.environ["GUNICORN_BIND"] = f"127.0.0.1:{settings.PORT}"
    command = [sys.executable, "-m", "gunicorn", "-c", "python:shared.gunicorn_conf", "tests.relying_party.wsgi"]
    os.execv(sys.executable, command)  # noqa: S606 (a fixed command line)
