"""The servers' log lines as records: under production settings each line is one JSON object.

``docker compose logs`` puts the service's name before each line; a line that is
no JSON object (a traceback of a process that failed to start) is no record.
"""

import json
import time
from collections.abc import Callable


def records(text: str) -> list[dict]:
    found = []
    for line in text.splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(record, dict) and "message" in record:
            found.append(record)
    return found


def access(text: str, method: str, path: str, **fields) -> list[dict]:
    """gunicorn's access records for ``method path`` with ``fields`` (status=200, request_id=...)."""
    return [
        record
        for record in records(text)
        if record.get("method") == method
        and record.get("path") == path
        and all(record.get(name) == value for name, value in fields.items())
    ]


def eventually(find: Callable[[], list], seconds: float = 5) -> list:
    """``find()``'s first non-empty answer, or its last after ``seconds``.

    gunicorn writes an access line once the response is sent, and Docker collects
    log lines some time after they are written.
    """
    deadline = time.monotonic() + seconds
    while not (found := find()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found
