"""make bench: the resource server's hot path, measured against its floor in one run.

Starts the authorization server and two resource servers (credentials mode and
token mode) with production settings and gunicorn as shipped, drives them with
wrk (or a Python client where wrk is missing), and writes the figures to
BENCH_OUTPUT (default docs/) as benchmarks.json and benchmarks.md.

    BENCH_SECONDS   seconds per load run (default 10)
    DATABASE_URL    a PostgreSQL server: the servers' databases are created there
    REDIS_URL       a Redis for the resource servers' token cache (default: each RS's cache directory)
"""

import base64
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench import load, report
from tests.fake_authorization_server import FakeAuthorizationServer
from tests.stack import ROOT, Server, resource_server_environment, start_stack

ROTATIONS = (10, 1_000, 10_000)
SCALING = (1, 4, 16, 64)

# Written straight into the AS's database: 10,000 tokens in a second, not a minute.
CREATE_TOKENS = """
from datetime import timedelta
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model, set_token_value
AccessToken = get_access_token_model()
application = get_application_model().objects.get(client_id="{client_id}")
expires = timezone.now() + timedelta(hours=1)
tokens = []
for value in open("{path}").read().split():
    token = AccessToken(application=application, scope="read", expires=expires)
    set_token_value(token, value)
    tokens.append(token)
AccessToken.objects.bulk_create(tokens, batch_size=1000)
"""


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class Bench:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.database = "postgres" if os.environ.get("DATABASE_URL") else "sqlite"
        self.cache = os.environ.get("REDIS_URL", "")
        self.extra = {"RS_CACHE_URL": self.cache} if self.cache else {}
        self.folder = Path(tempfile.mkdtemp(prefix="bench-"))
        self.servers: list[Server] = []
        self.warm_up_limit = min(600.0, 60 * seconds)

    # --- the stack ---
    def start(self) -> None:
        self.stack = start_stack("credentials", self.database, **self.extra)
        self.secrets = self.stack.secrets
        self.auth = self.stack.auth_url
        self.rs = {"credentials": self.stack.resource_url, "token": self.resource_server("token").url}

    def resource_server(self, mode: str, **environment) -> Server:
        database = f"sqlite:///{self.folder}/rs-{len(self.servers)}.sqlite3"
        env = resource_server_environment(self.auth, mode, self.secrets, database, **{**self.extra, **environment})
        server = Server("resource", env, int(env["RS_PORT"]))
        server.start()
        self.servers.append(server)
        return server

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.stack.stop()

    def token(self, scope: str = "read") -> str:
        response = requests.post(
            f"{self.auth}/o/token/",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(self.secrets["DEMO_CLIENT_ID"], self.secrets["DEMO_CLIENT_SECRET"]),
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def load(self, url: str, **kwargs) -> load.Result:
        return load.run(url, self.seconds, **kwargs)

    # --- 1. the floor and a cached token ---
    def cached_against_floor(self) -> dict:
        token = self.token()
        me, floor = f"{self.rs['credentials']}/api/me/", f"{self.rs['credentials']}/api/hello/"
        headers = {"Authorization": f"Bearer {token}"}
        load.run(me, max(1.0, self.seconds / 5), headers=headers)  # every worker caches it
        load.run(floor, max(1.0, self.seconds / 5))
        # Alternate the two, three times, and keep each one's best run: a noisy
        # neighbour then costs both the same.
        floors, cached = [], []
        for _ in range(3):
            floors.append(self.load(floor))
            cached.append(self.load(me, headers=headers))
        best_floor = max(floors, key=lambda r: r.requests_per_second)
        best_cached = max(cached, key=lambda r: r.requests_per_second)
        return {
            "floor": vars(best_floor),
            "cached_me": vars(best_cached),
            "ratio": best_cached.requests_per_second / best_floor.requests_per_second,
        }

    # --- 2. first use of a fresh token ---
    def cold_first_use(self) -> dict:
        count = max(10, min(40, int(self.seconds * 4)))
        result = {}
        for mode, base in self.rs.items():
            tokens = [self.token() for _ in range(count)]
            session = requests.Session()
            session.get(f"{base}/api/hello/", timeout=10)  # the connection, not the token, is warm
            timings = []
            for token in tokens:
                started = time.perf_counter()
                response = session.get(f"{base}/api/me/", headers={"Authorization": f"Bearer {token}"}, timeout=30)
                timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"cold first use answered {response.status_code}: {response.text}")
            result[mode] = {"median_ms": statistics.median(timings), "p90_ms": sorted(timings)[int(count * 0.9)]}
        result["ratio"] = result["credentials"]["median_ms"] / result["token"]["median_ms"]
        return result

    # --- 3. a flood of unknown tokens ---
    def junk_flood(self) -> dict:
        result = {}
        for mode, base in self.rs.items():
            probe = {}

            def valid_request_during_flood(base=base, probe=probe):
                time.sleep(self.seconds / 2)
                started = time.perf_counter()
                try:
                    token = self.token()
                    response = requests.get(f"{base}/api/me/", headers={"Authorization": f"Bearer {token}"}, timeout=30)
                    probe["status"] = response.status_code
                except requests.RequestException as error:
                    probe["status"] = type(error).__name__
                probe["ms"] = (time.perf_counter() - started) * 1000

            thread = threading.Thread(target=valid_request_during_flood)
            thread.start()
            flood = self.load(f"{base}/api/me/", script="junk.lua")
            thread.join()
            result[mode] = {**vars(flood), "valid_token_status": probe["status"], "valid_token_ms": probe["ms"]}
        result["ratio"] = result["credentials"]["requests_per_second"] / result["token"]["requests_per_second"]
        return result

    # --- 4. issuing a token against introspecting one ---
    def issue_against_introspect(self) -> dict:
        issue = self.load(
            f"{self.auth}/o/token/",
            connections=4,
            script="post.lua",
            env={
                "POST_BODY": "grant_type=client_credentials&scope=read",
                "AUTHORIZATION": basic(self.secrets["DEMO_CLIENT_ID"], self.secrets["DEMO_CLIENT_SECRET"]),
            },
        )
        introspect = self.load(
            f"{self.auth}/o/introspect/",
            connections=4,
            script="post.lua",
            env={
                "POST_BODY": f"token={self.token()}",
                "AUTHORIZATION": basic(self.secrets["OAUTH_RS_CLIENT_ID"], self.secrets["OAUTH_RS_CLIENT_SECRET"]),
            },
        )
        return {
            "issue": vars(issue),
            "introspect": vars(introspect),
            # How many introspection calls one client-credentials token costs.
            "ratio": introspect.requests_per_second / issue.requests_per_second,
        }

    # --- 5. scaling with connections and with distinct tokens ---
    def scaling(self) -> dict:
        token = self.token()
        me = f"{self.rs['credentials']}/api/me/"
        headers = {"Authorization": f"Bearer {token}"}
        load.run(me, 1, headers=headers)
        return {str(c): vars(self.load(me, connections=c, headers=headers)) for c in SCALING}

    def rotation(self) -> dict:
        values = [secrets.token_urlsafe(32) for _ in range(max(ROTATIONS))]
        all_tokens = self.folder / "tokens.txt"
        all_tokens.write_text("\n".join(values))
        self.stack.auth_manage(
            "shell", "-c", CREATE_TOKENS.format(client_id=self.secrets["DEMO_CLIENT_ID"], path=all_tokens)
        )
        result = {}
        with FakeAuthorizationServer("relay", upstream=f"{self.auth}/o/introspect/") as relay:
            for count in ROTATIONS:
                # A fresh RS for each size, behind a relay that counts its introspection
                # calls. Its caching window is longer than the run, so the hit rate shows
                # the cache's capacity, not the once-a-window refresh every token needs.
                server = self.resource_server(
                    "credentials",
                    RESOURCE_SERVER_INTROSPECTION_URL=relay.url,
                    RESOURCE_SERVER_TOKEN_CACHING_SECONDS=str(int(self.warm_up_limit * 2)),
                )
                tokens = self.folder / f"tokens-{count}.txt"
                tokens.write_text("\n".join(values[:count]))
                env = {"TOKENS_FILE": str(tokens), "ROTATION_OFFSET": "0"}
                self.warm_up(f"{server.url}/api/me/", relay, env, count)
                calls_before = relay.calls
                measured = self.load(f"{server.url}/api/me/", script="rotate.lua", env=env)
                misses = relay.calls - calls_before
                result[str(count)] = {
                    **vars(measured),
                    # Calls made for requests still in flight when the load stops are
                    # counted and those requests are not: a cold cache can read below 0.
                    "hit_rate": max(0.0, 1 - misses / max(measured.requests, 1)),
                    "rss_mb": resident_megabytes(server.process.pid),
                }
                server.stop()
        return result

    def warm_up(self, url: str, relay: FakeAuthorizationServer, env: dict, count: int) -> None:
        """Rotate until every worker has seen (nearly) every token, or the time limit.

        Done when the latest rounds together cover the rotation twice over with
        under 1% misses: one short round sees only part of a large rotation.
        """
        deadline = time.monotonic() + self.warm_up_limit
        rounds: list[tuple[int, int]] = []  # (requests, misses), newest last
        while time.monotonic() < deadline:
            calls_before = relay.calls
            run = load.run(url, max(2.0, self.seconds / 2), connections=32, script="rotate.lua", env=env)
            rounds.append((run.requests, relay.calls - calls_before))
            env["ROTATION_OFFSET"] = str(int(env["ROTATION_OFFSET"]) + run.requests // 2)
            requests_seen = misses = 0
            for requests_in_round, misses_in_round in reversed(rounds):
                requests_seen += requests_in_round
                misses += misses_in_round
                if requests_seen >= 2 * count:
                    break
            if requests_seen >= 2 * count and misses < 0.01 * requests_seen:
                return


def resident_megabytes(root_pid: int) -> float:
    """Resident memory of a process and all its descendants (gunicorn master and workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total_kb, pending = 0, [root_pid]
    while pending:
        pid = pending.pop()
        pending += children.get(pid, [])
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total_kb += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total_kb / 1024


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def main() -> int:
    seconds = float(os.environ.get("BENCH_SECONDS", "10"))
    output = Path(os.environ.get("BENCH_OUTPUT", ROOT / "docs"))
    bench = Bench(seconds)
    print(
        f"bench: {seconds:g} s per run, load from {load.generator()}, {bench.database}, "
        f"token cache {'Redis' if bench.cache else 'directory (diskcache)'}",
        flush=True,
    )
    bench.start()
    try:
        figures = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "setup": {
                "seconds_per_run": seconds,
                "load_generator": load.generator(),
                "database": bench.database,
                "token_cache": "redis" if bench.cache else "directory (diskcache)",
                "gunicorn": "2 gthread workers x 4 threads per server (as shipped)",
            },
        }
        for name in (
            "cached_against_floor",
            "cold_first_use",
            "junk_flood",
            "issue_against_introspect",
            "scaling",
            "rotation",
        ):
            print(f"bench: {name.replace('_', ' ')}", flush=True)
            figures[name] = getattr(bench, name)()
    finally:
        bench.stop()
    output.mkdir(parents=True, exist_ok=True)
    (output / "benchmarks.json").write_text(json.dumps(figures, indent=2) + "\n")
    (output / "benchmarks.md").write_text(report.markdown(figures))
    print(report.table(figures))
    print(f"bench: wrote {output / 'benchmarks.json'} and {output / 'benchmarks.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
