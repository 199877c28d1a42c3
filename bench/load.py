"""Drive HTTP load: wrk (Debian's package) when present, else a small Python client."""

import os
import re
import shutil
import signal
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


class Steady:
    """Load on one URL from the moment the block opens until it closes, then its Result in ``result``.

    Background load for what is measured meanwhile, as much as the server takes or, with
    ``rate``, about that many requests a second (each connection pauses between an answer
    and its next request): wrk until it is interrupted (SIGINT makes it print its figures),
    or the Python client's threads until told to stop.
    """

    # wrk's own limit: one left behind by a bench that died stops by itself.
    LONGEST_SECONDS = 900

    def __init__(self, url, connections=4, headers=None, rate=None):
        self.url, self.connections, self.headers = url, connections, headers or {}
        self.pause = connections / rate if rate else 0.0
        self.result: Result | None = None

    def __enter__(self):
        if generator() == "wrk":
            script = "paced.lua" if self.pause else None
            self.process = subprocess.Popen(
                [*_wrk_command(self.connections, self.LONGEST_SECONDS, self.headers, script), self.url],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env={**os.environ, "DELAY_MS": str(max(1, round(self.pause * 1000)))},
            )
        else:
            self.stopped = threading.Event()
            self.thread = threading.Thread(
                target=lambda: setattr(
                    self,
                    "result",
                    _python(self.url, None, self.connections, self.headers, None, {}, self.stopped, self.pause),
                )
            )
            self.thread.start()
        return self

    def __exit__(self, *exc):
        if generator() == "wrk":
            # A SIGINT that arrives before wrk starts its wait is lost: sent again until it ends.
            for _ in range(15):
                self.process.send_signal(signal.SIGINT)
                try:
                    self.result = _parse(self.process.communicate(timeout=2)[0])
                    return
                except subprocess.TimeoutExpired:
                    continue
            self.process.kill()
            raise RuntimeError(f"wrk on {self.url} did not stop")
        else:
            self.stopped.set()
            self.thread.join()


def _wrk_command(connections, seconds, headers, script) -> list[str]:
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
    return command


def _wrk(url, seconds, connections, headers, script, env) -> Result:
    command = _wrk_command(connections, seconds, headers, script)
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, env={**os.environ, **env}, timeout=seconds + 60
    ).stdout
    return _parse(output)


def _parse(output: str) -> Result:
    """wrk's report (with --latency)."""

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


def _python(url, seconds, connections, headers, script, env, stopped=None, pause=0.0) -> Result:
    """The fallback: one keep-alive connection per thread, for ``seconds`` or until ``stopped`` is
    set, each pausing ``pause`` seconds between an answer and its next request.
    It shares the machine's cores with the servers, so its absolute figures are lower than wrk's."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    tokens = Path(env["TOKENS_FILE"]).read_text().split() if script == "rotate.lua" else None
    latencies, errors, lock = [], [0], threading.Lock()
    started = time.monotonic()
    deadline = started + seconds if seconds is not None else float("inf")

    def worker(index):
        connection = HTTPConnection(parts.hostname, parts.port, timeout=10)
        count = int(env.get("ROTATION_OFFSET", 0)) + index * 7919
        while time.monotonic() < deadline and not (stopped and stopped.is_set()):
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
            if pause:
                time.sleep(pause)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    count = len(latencies)
    return Result(
        requests_per_second=count / (seconds if seconds is not None else time.monotonic() - started),
        p50_ms=latencies[count // 2] if count else 0.0,
        p99_ms=latencies[min(count - 1, int(count * 0.99))] if count else 0.0,
        requests=count,
        errors=errors[0],
    )


def me_answered(port: int, token: str) -> HTTPConnection:
    """A new connection on which the API at ``port`` has answered GET /api/me/ with ``token``: 200, kept open."""
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/api/me/", headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"/api/me/ answered {response.status} to a valid token")
    return connection
