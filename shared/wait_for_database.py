"""Wait until the database of AS_DATABASE_URL / RS_DATABASE_URL accepts TCP connections.

Standard library only. SQLite URLs need no waiting.
"""

import os
import socket
import sys
import time
from urllib.parse import urlsplit

VARIABLES = ("AS_DATABASE_URL", "RS_DATABASE_URL")


def wait(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def main() -> int:
    seconds = float(os.environ.get("DATABASE_WAIT_SECONDS", "60"))
    for variable in VARIABLES:
        url = urlsplit(os.environ.get(variable, ""))
        if not url.hostname:
            continue
        port = url.port or 5432
        if not wait(url.hostname, port, seconds):
            print(f"entrypoint: the database of {variable} ({url.hostname}:{port}) is unreachable", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
