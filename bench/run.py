"""make bench: the resource server's hot path, measured against its floor in one run, how soon
a revocation reaches every worker of every replica, what its notices cost that path, and what
a signed introspection answer (RFC 9701) costs against a plain one.

Starts the authorization server and the resource server (credentials mode) on
two stacks, each with production settings and gunicorn as shipped:

- embedded: SQLite databases, the token cache in a directory the RS's workers share;
- Compose-like: PostgreSQL databases and the token cache in Redis (RS_CACHE_URL),
  skipped with a line saying why when either server cannot be reached.

It drives them with wrk (or a Python client where wrk is missing), and writes the
figures to BENCH_OUTPUT (default docs/) as benchmarks.json and benchmarks.md.

    BENCH_SECONDS   seconds per load run (default 10); under 5 (CI's short run) every
                    measurement runs once, the rotation stops at 1,000 tokens and
                    revocation propagation is measured 5 times instead of 20
    DATABASE_URL    the Compose-like stack's PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres)
    REDIS_URL       the Compose-like stack's Redis (default redis://127.0.0.1:6379/0)
"""

import base64
import contextlib
import json
import math
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

from bench import load, report, revocation
from tests.fake_authorization_server import FakeAuthorizationServer
from tests.stack import ROOT, Server, Stack, free_port, resource_server_environment, start_stack

ROTATIONS = (10, 1_000, 10_000)
SCALING = (1, 4, 16, 64)
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
# The caching window of the introspection counts: longer than the per-process
# layer's default (2 s), so a window sees that layer expire and refill from the
# shared cache, which must not cost an introspection.
WINDOW_SECONDS = 3
REPLICAS = 3
# Revocations measured per stack under steady load (the target) and with the machine saturated,
# the share of the stack's cached capacity (section 1) that steady load asks for, and the pace
# of the notices the hot path is measured under.
PROPAGATION_ROUNDS = 20
SATURATED_ROUNDS = 5
LOAD_SHARE = 0.5
NOTICE_INTERVAL_SECONDS = 0.1

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

# Run in the RS's `manage.py shell` with its production settings: the cost of one
# cache.get() that hits, as shipped and with the per-process layer off (median of
# 5 x 1,000 calls), and of one introspection call (median of 20).
HIT_COST = """
import json, os, statistics, time, timeit
from django.test import override_settings
from introspection import cache, client
token = os.environ["BENCH_TOKEN"]
misses = []
for _ in range(20):
    asked, started = time.time(), time.perf_counter()
    claims = client.introspect(token)
    misses.append(time.perf_counter() - started)
cache.put(token, claims, asked)

def hit():
    assert cache.get(token) is not None, "the token cache kept nothing"
    return statistics.median(timeit.repeat(lambda: cache.get(token), number=1000, repeat=5)) / 1000 * 1e6

local = hit()
with override_settings(RESOURCE_SERVER_LOCAL_CACHE_SECONDS=0):
    shared = hit()
print(json.dumps({"local_us": local, "shared_us": shared, "miss_us": statistics.median(misses) * 1e6}))
"""


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def where(url: str) -> str:
    """host:port of a server URL, without its credentials."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def compose_like_unavailable(database_url: str, redis_url: str) -> str | None:
    """Why the Compose-like stack cannot run here, or None."""
    import psycopg
    import redis

    try:
        psycopg.connect(database_url, connect_timeout=3).close()
    except psycopg.Error as error:
        return f"PostgreSQL at {where(database_url)} unreachable ({type(error).__name__})"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError as error:
        return f"Redis at {where(redis_url)} unreachable ({type(error).__name__})"
    return None


class CountingRelay(FakeAuthorizationServer):
    """The tests' relay to the AS, noting when each introspection call arrived."""

    def __init__(self, upstream: str):
        super().__init__("relay", upstream=upstream)
        self.arrivals: list[float] = []

    def answer(self, *request):
        self.arrivals.append(time.monotonic())
        return super().answer(*request)


def per_window(arrivals: list[float], window: float) -> list[int]:
    """Introspection calls in each caching window.

    A window opens with a call and lasts ``window`` seconds: the answer that call
    cached serves until then, so a later call in it is one too many.
    """
    counts: list[int] = []
    opened = None
    for arrival in sorted(arrivals):
        if opened is None or arrival >= opened + window:
            opened = arrival
            counts.append(0)
        counts[-1] += 1
    return counts


class Bench:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.database_url = os.environ.get("DATABASE_URL") or DATABASE_URL
        self.redis_url = os.environ.get("REDIS_URL") or REDIS_URL
        self.folder = Path(tempfile.mkdtemp(prefix="bench-"))
        self.servers: list[Server] = []
        self.stacks: dict[str, Stack] = {}
        self.skipped: dict[str, str] = {}
        self.warm_up_limit = min(600.0, 60 * seconds)
        # Alternating runs keep each one's best: a noisy neighbour then costs all the same.
        # A short run (CI's) checks that everything runs, once, and rotates fewer tokens.
        self.rounds = 4 if seconds >= 5 else 1
        self.rotations = ROTATIONS if seconds >= 5 else ROTATIONS[:-1]
        self.propagation_rounds = PROPAGATION_ROUNDS if seconds >= 5 else 5
        self.saturated_rounds = SATURATED_ROUNDS if seconds >= 5 else 1
        self.capacity: dict[str, float] = {}  # cached /api/me/ req/s per stack, from section 1
        self.notice_rounds = 2 if seconds >= 5 else 1
        self.shells: dict[str, revocation.AuthShell] = {}

    # --- the stacks ---
    def start(self) -> None:
        reason = compose_like_unavailable(self.database_url, self.redis_url)
        if reason:
            self.skipped["compose"] = reason
            print(f"bench: Compose-like stack (PostgreSQL + Redis) skipped: {reason}", flush=True)
        else:
            # tests.stack creates its PostgreSQL databases on this server.
            os.environ["DATABASE_URL"] = self.database_url
        # Both stacks start at once: most of it is waiting on migrations and servers.
        with ThreadPoolExecutor(max_workers=1) as pool:
            compose = (
                None if reason else pool.submit(start_stack, "credentials", "postgres", RS_CACHE_URL=self.redis_url)
            )
            try:
                self.stacks["embedded"] = start_stack("credentials", "sqlite")
            finally:
                if compose is not None:
                    self.stacks["compose"] = compose.result()
        self.stack = self.stacks["embedded"]
        self.secrets = self.stack.secrets
        self.auth = self.stack.auth_url
        self.rs = {"credentials": self.stack.resource_url, "token": self.resource_server("token").url}

    def serve(self, env: dict) -> Server:
        server = Server("resource", env, int(env["RS_PORT"]))
        self.servers.append(server)
        server.start()
        return server

    def resource_server(self, mode: str, **environment) -> Server:
        """A resource server of its own: own secret, database and token cache directory."""
        database = f"sqlite:///{self.folder}/rs-{len(self.servers)}.sqlite3"
        return self.serve(resource_server_environment(self.auth, mode, self.secrets, database, **environment))

    def replica(self, stack: Stack, **environment) -> Server:
        """One more RS process of the stack's API, as a replica runs: the same environment
        (secret, database, resource identifier, token cache) on another port."""
        return self.serve({**shipped(stack).env, "RS_PORT": str(free_port()), **environment})

    def shell(self, stack: Stack) -> revocation.AuthShell:
        """The stack's AS shell, started on first use."""
        if stack.database not in self.shells:
            self.shells[stack.database] = revocation.AuthShell(stack, self.folder / f"auth-shell-{stack.database}.log")
        return self.shells[stack.database]

    def stop(self) -> None:
        for shell in self.shells.values():
            shell.stop()
        for server in self.servers:
            server.stop()
        for stack in self.stacks.values():
            stack.stop()

    def token(self, stack: Stack | None = None, scope: str = "read", **resource) -> str:
        """A client-credentials token, for every API or for ``resource=`` one (RFC 8707)."""
        stack = stack or self.stack
        response = requests.post(
            f"{stack.auth_url}/o/token/",
            data={"grant_type": "client_credentials", "scope": scope, **resource},
            auth=(stack.secrets["DEMO_CLIENT_ID"], stack.secrets["DEMO_CLIENT_SECRET"]),
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def load(self, url: str, **kwargs) -> load.Result:
        return load.run(url, self.seconds, **kwargs)

    def each_stack(self, measure) -> dict:
        result = {name: measure(stack) for name, stack in self.stacks.items()}
        return {**result, **{name: {"skipped": reason} for name, reason in self.skipped.items()}}

    # --- 1. the floor, and /api/me/ through each layer of the token cache ---
    def hot_path(self) -> dict:
        return self.each_stack(self.hot_path_of)

    def hot_path_of(self, stack: Stack) -> dict:
        """Cached /api/me/ as shipped (per-process layer in front of the shared cache),
        with the shared cache alone, and with every request a miss, against the floor."""
        bases = {
            "local": stack.resource_url,
            "shared": self.replica(stack, RESOURCE_SERVER_LOCAL_CACHE_SECONDS="0").url,
            "miss": self.replica(stack, **{"RESOURCE_SERVER_TOKEN_CACHING_SECONDS": "0"}).url,
        }
        urls = {
            "floor": f"{stack.resource_url}/api/hello/",
            **{name: f"{base}/api/me/" for name, base in bases.items()},
        }
        cached = {"Authorization": f"Bearer {self.token(stack)}"}
        # Its own token: the others' answer is in the shared cache, where the miss server reads first.
        missed = {"Authorization": f"Bearer {self.token(stack)}"}

        def run(name, seconds):
            return load.run(urls[name], seconds, headers={"floor": None, "miss": missed}.get(name, cached))

        for name in urls:
            run(name, max(1.0, self.seconds / 5))  # connections open, every worker has the token
        # The ratios the targets judge alternate, round after round; a miss is an order
        # of magnitude slower, and is measured once.
        runs = {name: [] for name in urls}
        for _ in range(self.rounds):
            for name in ("floor", "local", "shared"):
                runs[name].append(run(name, self.seconds))
        runs["miss"].append(run("miss", self.seconds))
        best = {name: max(results, key=lambda r: r.requests_per_second) for name, results in runs.items()}
        floor = best["floor"].requests_per_second
        self.capacity[stack.database] = best["local"].requests_per_second
        return {
            **{name: vars(result) for name, result in best.items()},
            "ratios": {name: best[name].requests_per_second / floor for name in bases},
        }

    # --- 2. one cache.get() per layer, in-process ---
    def hit_cost(self) -> dict:
        return self.each_stack(self.hit_cost_of)

    def hit_cost_of(self, stack: Stack) -> dict:
        output = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", HIT_COST],
            cwd=ROOT / "resource_server",
            env={**shipped(stack).env, "BENCH_TOKEN": self.token(stack), "LOG_LEVEL": "WARNING"},
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout
        return json.loads(output.strip().splitlines()[-1])

    # --- 3. introspections per token per caching window ---
    def introspections(self) -> dict:
        result = {"window_seconds": WINDOW_SECONDS, "embedded": self.introspections_of(self.stacks["embedded"], 1)}
        if "compose" in self.stacks:
            result["compose"] = self.introspections_of(self.stacks["compose"], REPLICAS)
        else:
            result["compose"] = {"skipped": self.skipped["compose"]}
        return result

    def introspections_of(self, stack: Stack, replicas: int) -> dict:
        """One token sent to every worker of ``replicas`` RS processes (2 workers each, one shared
        cache), behind a relay that counts the AS's introspection calls: one request at a time,
        then another token under load from every replica at once."""
        with CountingRelay(upstream=f"{stack.auth_url}/o/introspect/") as relay:
            servers = [
                self.replica(stack, **through(relay, stack), RESOURCE_SERVER_TOKEN_CACHING_SECONDS=str(WINDOW_SECONDS))
                for _ in range(replicas)
            ]
            workers = {worker for server in servers for worker in all_workers(server)}
            # A worker's first request costs it most of a second (measured): paid here, with
            # another token, so that neither count below includes a worker still starting.
            one_by_one(servers, self.token(stack), workers, answers=1, seconds=60)
            relay.arrivals.clear()
            sent, reached = one_by_one(servers, self.token(stack), workers, answers=2, seconds=WINDOW_SECONDS * 0.8)
            sequential = per_window(relay.arrivals, WINDOW_SECONDS)

            relay.arrivals.clear()
            headers = {"Authorization": f"Bearer {self.token(stack)}"}
            seconds = max(self.seconds, WINDOW_SECONDS)
            results: list[load.Result] = []

            def drive(server):
                results.append(load.run(f"{server.url}/api/me/", seconds, connections=8, headers=headers))

            threads = [threading.Thread(target=drive, args=(server,)) for server in servers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            loaded = per_window(relay.arrivals, WINDOW_SECONDS)
            for server in servers:
                server.stop()
        return {
            "replicas": replicas,
            "workers": len(workers),
            "one_by_one": {"requests": sent, "workers_reached": reached, "per_window": sequential},
            "under_load": {
                "requests": sum(r.requests for r in results),
                "errors": sum(r.errors for r in results),
                "seconds": seconds,
                "per_window": loaded,
            },
        }

    # --- 4. first use of a fresh token ---
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

    # --- 10. signed introspection answers against plain ones ---
    def signed_introspection(self) -> dict:
        """/api/me/ from two APIs of the embedded stack that introspect every request (no token
        cache at all), one asking the AS for signed answers (RFC 9701) and one for plain JSON:
        the same AS, the same token, alternating round after round, each keeping its best."""
        uncached = {"RESOURCE_SERVER_TOKEN_CACHING_SECONDS": "0", "RESOURCE_SERVER_LOCAL_CACHE_SECONDS": "0"}
        servers = {
            answers: self.resource_server("credentials", RESOURCE_SERVER_INTROSPECTION_SIGNED=signed, **uncached)
            for answers, signed in (("plain", "false"), ("signed", "true"))
        }
        headers = {"Authorization": f"Bearer {self.token()}"}

        def run(answers, seconds):
            return load.run(f"{servers[answers].url}/api/me/", seconds, headers=headers)

        for answers in servers:
            run(answers, max(1.0, self.seconds / 5))  # connections open, each worker has fetched the AS's keys
        runs = {answers: [] for answers in servers}
        for _ in range(self.rounds):
            for answers in servers:
                runs[answers].append(run(answers, self.seconds))
        for server in servers.values():
            server.stop()
        best = {answers: max(results, key=lambda r: r.requests_per_second) for answers, results in runs.items()}
        return {
            **{answers: vars(result) for answers, result in best.items()},
            # How many times a plain cold introspection the signed one costs (a run that served
            # nothing makes it nan, not a crash).
            "ratio": best["plain"].requests_per_second / (best["signed"].requests_per_second or math.nan),
        }

    # --- 5. a flood of unknown tokens ---
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

    # --- 6. issuing a token against introspecting one ---
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

    # --- 7. scaling with connections and with distinct tokens ---
    def scaling(self) -> dict:
        token = self.token()
        me = f"{self.rs['credentials']}/api/me/"
        headers = {"Authorization": f"Bearer {token}"}
        load.run(me, 1, headers=headers)
        return {str(c): vars(self.load(me, connections=c, headers=headers)) for c in SCALING}

    def rotation(self) -> dict:
        values = [secrets.token_urlsafe(32) for _ in range(max(self.rotations))]
        all_tokens = self.folder / "tokens.txt"
        all_tokens.write_text("\n".join(values))
        self.stack.auth_manage(
            "shell", "-c", CREATE_TOKENS.format(client_id=self.secrets["DEMO_CLIENT_ID"], path=all_tokens)
        )
        result = {}
        with FakeAuthorizationServer("relay", upstream=f"{self.auth}/o/introspect/") as relay:
            for count in self.rotations:
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

    # --- 8. revocation reaching every worker of every replica ---
    def propagation(self) -> dict:
        return self.each_stack(self.propagation_of)

    def propagation_of(self, stack: Stack) -> dict:
        """Tokens every worker of every replica has cached, each revoked at the AS (RFC 7009) while
        the replicas serve another token: at LOAD_SHARE of the stack's cached capacity (the target),
        then as fast as they can. Then, under the steady load, one user deactivation and one client
        secret rotation. The AS notifies the replica it registered; the others learn it through
        the shared cache. The tokens are for this API only (RFC 8707): no notice goes to the
        team API, which does not run here."""
        count = REPLICAS if stack.database == "postgres" else 1
        with ThreadPoolExecutor(max_workers=2) as pool:
            replicas = [shipped(stack), *pool.map(lambda _: self.replica(stack), range(count - 1))]
        workers = [(server, all_workers(server)) for server in replicas]
        loaded = {"Authorization": f"Bearer {self.token(stack, resource=stack.resource)}"}
        capacity = (
            self.capacity.get(stack.database)
            or load.run(f"{replicas[0].url}/api/me/", 2, headers=loaded).requests_per_second
        )
        session = requests.Session()

        def revoked() -> dict:
            token = self.token(stack, resource=stack.resource)
            pinned = revocation.pin(workers, token)
            return revocation.measure(pinned, token, lambda: revocation.revoke(session, stack, token))

        def revocations(rounds: int, rate: float | None) -> dict:
            with contextlib.ExitStack() as background:
                # Steady load from more connections, each pausing longer: closer to the rate asked for.
                background_load = [
                    background.enter_context(
                        load.Steady(
                            f"{server.url}/api/me/",
                            connections=8 if rate else 4,
                            headers=loaded,
                            rate=rate and rate / len(replicas),
                        )
                    )
                    for server in replicas
                ]
                if rate:
                    # Not counted: a worker's first introspection call of its own (its client, its
                    # connection to the AS) comes after the first notice, for those the shared cache served.
                    revoked()
                measured = [revoked() for _ in range(rounds)]
                events = self.other_changes(stack, workers) if rate else {}
            every = [r["every_ms"] for r in measured if r["every_ms"] is not None]
            return {
                "every_ms": every,
                "first_ms": [r["first_ms"] for r in measured if r["first_ms"] is not None],
                **(
                    {
                        "p50_ms": revocation.percentile(every, 50),
                        "p99_ms": revocation.percentile(every, 99),
                        "max_ms": max(every),
                    }
                    if every
                    else {}
                ),
                "failures": [r["failure"] for r in measured if "failure" in r],
                "background": {
                    "requests_per_second": sum(s.result.requests_per_second for s in background_load),
                    "errors": sum(s.result.errors for s in background_load),
                },
                **events,
            }

        steady = revocations(self.propagation_rounds, LOAD_SHARE * capacity)
        saturated = revocations(self.saturated_rounds, None)
        for replica in replicas[1:]:
            replica.stop()
        return {
            "replicas": count,
            "workers": sum(len(pids) for _, pids in workers),
            "capacity": capacity,
            "load_share": LOAD_SHARE,
            "account_disabled": steady.pop("account_disabled"),
            "credential_change": steady.pop("credential_change"),
            "revocation": steady,
            "revocation_saturated": saturated,
        }

    def other_changes(self, stack: Stack, workers: list) -> dict:
        """One user deactivation and one client secret rotation, made in the AS's shell."""
        shell = self.shell(stack)
        name, user_token, client_token = (secrets.token_urlsafe(32) for _ in range(3))
        name = f"bench-{name[:12]}"
        shell.run("user", name, user_token)
        shell.run("client", name, client_token)
        # The shell's first notice starts its sender (thread, key): paid here, by another user,
        # as the AS's long-running workers pay it once.
        shell.run("user", f"{name}-warm", secrets.token_urlsafe(32))
        shell.run("deactivate", f"{name}-warm")
        return {
            "account_disabled": revocation.measure(
                revocation.pin(workers, user_token), user_token, lambda: shell.run("deactivate", name)
            ),
            "credential_change": revocation.measure(
                revocation.pin(workers, client_token), client_token, lambda: shell.run("rotate", name)
            ),
        }

    # --- 9. the hot path while notices flow ---
    def notice_cost(self) -> dict:
        # The AS shells start side by side, and are ready before anything is measured.
        for stack in self.stacks.values():
            self.shell(stack)
        for stack in self.stacks.values():
            self.shell(stack).wait()
        return self.each_stack(self.notice_cost_of)

    def notice_cost_of(self, stack: Stack) -> dict:
        """The floor and cached /api/me/ with no notice, and while the AS revokes another token
        (one this API never saw) every NOTICE_INTERVAL_SECONDS and pushes its notice, alternating."""
        needed = int(self.notice_rounds * 2 * (self.seconds + 2) / NOTICE_INTERVAL_SECONDS)
        values = [secrets.token_urlsafe(32) for _ in range(needed)]
        path = self.folder / f"notice-tokens-{stack.database}.txt"
        path.write_text("\n".join(values))
        self.shell(stack).run("tokens", str(path))
        session = requests.Session()
        notices = revocation.Notices(
            lambda token: revocation.revoke(session, stack, token), values, NOTICE_INTERVAL_SECONDS
        )
        urls = {"floor": f"{stack.resource_url}/api/hello/", "cached": f"{stack.resource_url}/api/me/"}
        cached = {"Authorization": f"Bearer {self.token(stack)}"}

        def run(name, seconds):
            return load.run(urls[name], seconds, headers=cached if name == "cached" else None)

        for name in urls:
            run(name, max(1.0, self.seconds / 5))  # connections open, every worker has the token
        runs = {name: [] for name in ("floor", "cached", "floor_notices", "cached_notices")}
        for _ in range(self.notice_rounds):
            for name in urls:
                runs[name].append(run(name, self.seconds))
                with notices:
                    runs[f"{name}_notices"].append(run(name, self.seconds))
        best = {name: max(results, key=lambda r: r.requests_per_second) for name, results in runs.items()}
        # A run that served nothing (a server stalled) makes its ratios nan, not a crash.
        rate = {name: result.requests_per_second or math.nan for name, result in best.items()}
        return {
            **{name: vars(result) for name, result in best.items()},
            "notices": {
                "interval_seconds": NOTICE_INTERVAL_SECONDS,
                "sent": notices.sent,
                "per_second": notices.sent / notices.seconds,
                "failures": notices.failures[:5],
            },
            "ratios": {
                "cached": rate["cached"] / rate["floor"],
                "cached_notices": rate["cached_notices"] / rate["floor_notices"],
                # What the notices cost cached /api/me/ on this machine, the AS's share included.
                "notices_against_none": rate["cached_notices"] / rate["cached"],
            },
        }

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


def through(relay: FakeAuthorizationServer, stack: Stack) -> dict:
    """A replica's environment to introspect through ``relay``: the signed answers it passes on
    are the stack's AS's, whose keys and issuer are not at the relay's origin (the defaults)."""
    return {
        "RESOURCE_SERVER_INTROSPECTION_URL": relay.url,
        "RESOURCE_SERVER_JWKS_URL": f"{stack.auth_url}/o/.well-known/jwks.json",
        "RESOURCE_SERVER_ISSUER": stack.auth_url,
    }


def shipped(stack: Stack) -> Server:
    """The stack's first API as it started it."""
    return next(server for server in stack.servers if server.url == stack.resource_url)


def one_by_one(servers: list[Server], token: str, workers: set[int], answers: int, seconds: float) -> tuple[int, int]:
    """Requests with ``token`` one at a time, each on a new connection, round the replicas, until
    every worker has answered ``answers`` of them (or 200 requests, or ``seconds``).

    Returns how many requests were sent and how many workers answered at least one.
    """
    answered: dict[int | None, int] = {}
    sent = 0
    deadline = time.monotonic() + seconds
    while sent < 200 and time.monotonic() < deadline and any(answered.get(w, 0) < answers for w in workers):
        server = servers[sent % len(servers)]
        connection = load.me_answered(server.port, token)
        worker = server.worker_serving(connection.sock.getsockname()[1])
        connection.close()
        answered[worker] = answered.get(worker, 0) + 1
        sent += 1
    return sent, len(workers & set(answered))


def all_workers(server: Server, seconds: float = 30) -> list[int]:
    """The server's gunicorn workers, once all of them run (the health check needs only one)."""
    deadline = time.monotonic() + seconds
    while len(workers := server.workers()) < int(server.env["WEB_CONCURRENCY"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return workers


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
        # What else ran meanwhile: the machine is shared.
        "load_average": round(os.getloadavg()[0], 1),
    }


def main() -> int:
    seconds = float(os.environ.get("BENCH_SECONDS", "10"))
    output = Path(os.environ.get("BENCH_OUTPUT", ROOT / "docs"))
    bench = Bench(seconds)
    print(f"bench: {seconds:g} s per run, load from {load.generator()}", flush=True)
    started = time.monotonic()
    about = machine()  # before the stacks start: the load average is then the others'
    try:
        bench.start()
        figures = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": about,
            "setup": {
                "seconds_per_run": seconds,
                "load_generator": load.generator(),
                "stacks": {
                    "embedded": "SQLite databases, token cache in a directory (diskcache)",
                    "compose": f"skipped: {bench.skipped['compose']}"
                    if "compose" in bench.skipped
                    else f"PostgreSQL databases ({where(bench.database_url)}), "
                    f"token cache in Redis ({where(bench.redis_url)})",
                },
                "gunicorn": "2 gthread workers x 4 threads per server (as shipped)",
            },
        }
        for name in (
            "hot_path",
            "hit_cost",
            "introspections",
            "cold_first_use",
            "signed_introspection",
            "junk_flood",
            "issue_against_introspect",
            "scaling",
            "rotation",
            "notice_cost",
            "propagation",
        ):
            print(f"bench: {name.replace('_', ' ')} ({time.monotonic() - started:.0f} s)", flush=True)
            figures[name] = getattr(bench, name)()
    finally:
        bench.stop()
    figures["duration_seconds"] = round(time.monotonic() - started)
    output.mkdir(parents=True, exist_ok=True)
    (output / "benchmarks.json").write_text(json.dumps(figures, indent=2) + "\n")
    (output / "benchmarks.md").write_text(report.markdown(figures))
    print(report.table(figures))
    print(
        f"bench: wrote {output / 'benchmarks.json'} and {output / 'benchmarks.md'} in {figures['duration_seconds']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
