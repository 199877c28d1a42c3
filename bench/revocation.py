"""Revocation as the resource servers see it: how soon every worker refuses a token, and notices at a steady pace.

Each worker of each replica is polled in a thread of its own, in a tight loop, on a
keep-alive connection that worker accepted (a gunicorn worker serves the connections
it accepted, and keeps them open between requests), with a token every worker has
just answered, so has cached. The clock starts when the AS answers the change
(RFC 7009 revocation, user deactivation, client secret rotation) and stops, for each
worker, at its first 401.
"""

import json
import math
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import requests

from bench import load
from tests.stack import ROOT, Server, Stack, open_files

# Beyond this a notice is taken as lost: only the caching window (60 s) would end the token.
LIMIT_SECONDS = 10.0
# Every worker answers the token this many more times before the change: each loop runs.
ANSWERS_BEFORE = 3
# Batches of new connections tried, each two per worker still missing.
PINNING_ROUNDS = 20

# Run in the AS's `manage.py shell`, one command a line on stdin, one JSON line out
# per command with time.time() when the change was saved: the changes that need no
# endpoint of their own, made as an administrator would, through the models (their
# signals make the notices).
SHELL = """
import json, os, secrets, sys, time
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model, set_token_value
AccessToken, Application, User = get_access_token_model(), get_application_model(), get_user_model()
demo = Application.objects.get(client_id=os.environ["DEMO_CLIENT_ID"])
resource = [os.environ["BENCH_RESOURCE"]]

def token(value, application=demo, user=None):
    made = AccessToken(
        application=application, user=user, scope="read", expires=timezone.now() + timedelta(hours=1), resource=resource
    )
    set_token_value(made, value)
    return made

print(json.dumps({"ready": time.time()}), flush=True)
for line in sys.stdin:
    command, *args = line.split()
    if command == "tokens":
        AccessToken.objects.bulk_create([token(value) for value in open(args[0]).read().split()], batch_size=1000)
    elif command == "user":
        token(args[1], user=User.objects.create_user(args[0])).save()
    elif command == "client":
        client = Application.objects.create(
            name=args[0], client_id=args[0], client_secret=secrets.token_urlsafe(32),
            client_type="confidential", authorization_grant_type="client-credentials",
        )
        token(args[1], application=client).save()
    elif command == "deactivate":
        user = User.objects.get(username=args[0])
        user.is_active = False
        user.save()
    elif command == "rotate":
        client = Application.objects.get(client_id=args[0])
        client.client_secret = secrets.token_urlsafe(32)
        client.save()
    print(json.dumps({"done": command, "at": time.time()}), flush=True)
"""


class AuthShell:
    """The AS's models in a shell of its own, started once (Django's start costs a second or two)."""

    def __init__(self, stack: Stack, log: Path):
        self.log = log
        with log.open("a") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "shell", "-c", SHELL],
                cwd=ROOT / "auth_server",
                env={**stack.servers[0].env, "BENCH_RESOURCE": stack.resource},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        self.ready = False  # its first line, not waited for here: shells can start side by side

    def wait(self) -> None:
        """Until the shell has started."""
        if not self.ready:
            self.answer()
            self.ready = True

    def run(self, *command: str) -> float:
        """Run one command; time.time() when its change was saved."""
        self.wait()
        self.process.stdin.write(" ".join(command) + "\n")
        self.process.stdin.flush()
        return self.answer()["at"]

    def answer(self) -> dict:
        """The shell's next answer, past any log line its logging writes to stdout."""
        for line in self.process.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"the AS's shell exited ({self.process.wait()}):\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        # Not a clean exit: it would wait for notices to APIs that do not run here (the team API).
        self.process.kill()
        self.process.wait()


def revoke(session: requests.Session, stack: Stack, token: str) -> float:
    """RFC 7009 revocation by the token's client; time.time() when the AS answered."""
    response = session.post(
        f"{stack.auth_url}/o/revoke_token/",
        data={"token": token, "token_type_hint": "access_token"},
        auth=(stack.secrets["DEMO_CLIENT_ID"], stack.secrets["DEMO_CLIENT_SECRET"]),
        timeout=30,
    )
    answered = time.time()
    if response.status_code != 200:
        raise RuntimeError(f"/o/revoke_token/ answered {response.status_code}: {response.text[:200]}")
    return answered


def pin(workers: list[tuple[Server, list[int]]], token: str) -> list[tuple[int, HTTPConnection]]:
    """A keep-alive connection to each worker of each server, on which that worker answered ``token``.

    Connections are opened a few per worker at a time, then matched to the workers that
    accepted them with one look at /proc (as tests.stack's Server.worker_serving does for one).
    """
    pinned: dict[tuple[int, int], HTTPConnection] = {}
    for _ in range(PINNING_ROUNDS):
        missing = [(server, pids) for server, pids in workers if any((server.port, pid) not in pinned for pid in pids)]
        if not missing:
            return [(pid, connection) for (_, pid), connection in pinned.items()]
        opened = []
        for server, pids in missing:
            for _ in range(2 * len(pids)):
                opened.append((server, pids, load.me_answered(server.port, token)))
        accepted = server_sockets()
        held = {pid: open_files(pid) for _, pids in missing for pid in pids}
        for server, pids, connection in opened:
            inode = accepted.get((server.port, connection.sock.getsockname()[1]))
            worker = next((pid for pid in pids if f"socket:[{inode}]" in held[pid]), None)
            if worker is None or (server.port, worker) in pinned:
                connection.close()
            else:
                pinned[server.port, worker] = connection
    raise RuntimeError(f"{len(pinned)} of {sum(len(pids) for _, pids in workers)} workers reached")


def server_sockets() -> dict[tuple[int, int], str]:
    """(local port, remote port) → inode of each IPv4 TCP socket (Linux /proc/net/tcp)."""
    sockets = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        sockets[int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16)] = fields[9]
    return sockets


class Poller(threading.Thread):
    """GET /api/me/ with one token on one worker's connection, until that worker's first 401."""

    def __init__(self, worker: int, connection: HTTPConnection, token: str):
        super().__init__(daemon=True)
        self.worker, self.connection = worker, connection
        self.headers = {"Authorization": f"Bearer {token}"}
        self.answered = 0
        self.refused_at: float | None = None  # time.time() at the first 401
        self.failure: str | None = None
        self.deadline = math.inf  # set once the change is answered

    def run(self) -> None:
        try:
            while time.time() < self.deadline:
                self.connection.request("GET", "/api/me/", headers=self.headers)
                response = self.connection.getresponse()
                response.read()
                if response.status == 401:
                    self.refused_at = time.time()
                    return
                if response.status != 200:
                    self.failure = f"worker {self.worker} answered {response.status}"
                    return
                self.answered += 1
        except OSError as error:
            self.failure = f"worker {self.worker}: {type(error).__name__}"
        finally:
            self.connection.close()


def measure(pinned: list[tuple[int, HTTPConnection]], token: str, change) -> dict:
    """Milliseconds from the AS's answer to ``change()`` (which returns time.time() then) to the
    first 401 at every worker (``every_ms``) and at the quickest (``first_ms``).

    ``every_ms`` is None when a worker kept accepting the token for LIMIT_SECONDS or failed
    (``failure`` says why).
    """
    pollers = [Poller(worker, connection, token) for worker, connection in pinned]
    for poller in pollers:
        poller.start()
    ready_by = time.monotonic() + LIMIT_SECONDS
    while time.monotonic() < ready_by and any(
        p.answered < ANSWERS_BEFORE and p.is_alive() and p.refused_at is None for p in pollers
    ):
        time.sleep(0.005)
    early = [p for p in pollers if p.refused_at is not None or p.failure or p.answered < ANSWERS_BEFORE]
    try:
        answered = change()
    except (RuntimeError, requests.RequestException, OSError) as error:
        for poller in pollers:
            poller.deadline = 0
        return {"every_ms": None, "first_ms": None, "failure": f"the change failed: {error}"[:300]}
    for poller in pollers:
        poller.deadline = answered + LIMIT_SECONDS
    for poller in pollers:
        poller.join()
    if early:
        failure = f"before the change, worker {early[0].worker}: {early[0].failure or 'refused or too slow'}"
    else:
        failure = next((p.failure for p in pollers if p.failure), None)
        if failure is None and any(p.refused_at is None for p in pollers):
            failure = f"a worker still accepted the token {LIMIT_SECONDS:g} s after the change"
    if failure:
        return {"every_ms": None, "first_ms": None, "failure": failure}
    refused = [p.refused_at - answered for p in pollers]
    return {"every_ms": max(refused) * 1000, "first_ms": min(refused) * 1000}


class Notices:
    """Revocations at a steady pace while the block runs, each of the next of ``tokens`` (RFC 7009).

    Each is sent on time whatever the ones before cost: an AS slowed by the load answers late,
    and a sender waiting for it would lower the pace.
    """

    def __init__(self, revoke_one, tokens, interval: float):
        self.revoke_one, self.tokens, self.interval = revoke_one, iter(tokens), interval
        self.sent = 0
        self.seconds = 0.0
        self.failures: list[str] = []
        self.lock = threading.Lock()

    def __enter__(self):
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.pace, daemon=True)
        self.started = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()
        self.seconds += time.monotonic() - self.started

    def pace(self) -> None:
        due = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            while not self.stopped.wait(max(0.0, due - time.monotonic())):
                token = next(self.tokens, None)
                if token is None:
                    self.failures.append("no token left to revoke")
                    return
                pool.submit(self.send, token)
                due += self.interval

    def send(self, token: str) -> None:
        try:
            self.revoke_one(token)
        except (RuntimeError, requests.RequestException) as error:
            with self.lock:
                self.failures.append(f"{type(error).__name__}: {error}"[:200])
        else:
            with self.lock:
                self.sent += 1


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: with 20 values, the p99 is the largest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
