"""Drive HTTP load: wrk (Debian's package) when present, else a small Python client."""

import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers and socket errors


def generator() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def run(url, seconds, connections=16, headers=None, script=None, env=None) -> Result:
    if generator() == "wrk":
        return _wrk(url, seconds, connections, headers or {}, script, env or {})
    return _python(url, seconds, connections, headers or {}, script, env or {})


def _wrk(url, seconds, connections, headers, script, env) -> Result:
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(HERE / script)]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, env={**os.environ, **env}, timeout=seconds + 60
    ).stdout

    def latency(percentile):
        value, unit = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * UNITS[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Result(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=latency(50),
        p99_ms=latency(99),
        requests=int(re.search(r"(\d+) requests in", output).group(1)),
        errors=(int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    )


def _python(url, seconds, connections, headers, script, env) -> Result:
    """The fallback: one keep-alive connection per thread. It shares the machine's
    cores with the servers, so its absolute figures are lower than wrk's."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    tokens = Path(env["TOKENS_FILE"]).read_text().split() if script == "rotate.lua" else None
    latencies, errors, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(index):
        connection = HTTPConnection(parts.hostname, parts.port, timeout=10)
        count = int(env.get("ROTATION_OFFSET", 0)) + index * 7919
        while time.monotonic() < deadline:
            count += 1
            request_headers = dict(headers)
            method, body = "GET", None
            if tokens:
                request_headers["Authorization"] = f"Bearer {tokens[count % len(tokens)]}"
            elif script == "junk.lua":
                request_headers["Authorization"] = f"Bearer junk{index}x{count}x{time.monotonic_ns()}"
            elif script == "post.lua":
                method, body = "POST", env["POST_BODY"]
                request_headers.update(
                    {"Authorization": env["AUTHORIZATION"], "Content-Type": "application/x-www-form-urlencoded"}
                )
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=request_headers)
                response = connection.getresponse()
                response.read()
                ok = 200 <= response.status < 400
            except OSError:
                connection.close()
                connection = HTTPConnection(parts.hostname, parts.port, timeout=10)
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                errors[0] += not ok

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    count = len(latencies)
    return Result(
        requests_per_second=count / seconds,
        p50_ms=latencies[count // 2] if count else 0.0,
        p99_ms=latencies[min(count - 1, int(count * 0.99))] if count else 0.0,
        requests=count,
        errors=errors[0],
    )
