"""Revocation notices reach every replica and every worker of both APIs, as shipped (make test-compose only).

Both APIs run three replicas here (``--scale``), with the shipped settings: a
60 s caching window, each API's replicas sharing their Redis. The AS pushes a
notice to one replica of each API (the service name picks one); that replica hands
it to the others through Redis. A script in each replica watches it from inside,
calling its own gunicorn on 127.0.0.1:8000 on one keep-alive connection per worker
(which worker holds a connection: /proc, as tests/stack.py reads it locally):
every worker must refuse the token within seconds of the change. The module leaves
one replica of each API, as it found them.
"""

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..stack import compose
from ..test_revocation_push import (
    BOTH_APIS,
    PUSHED_WITHIN,
    deactivate,
    own_client,
    own_user,
    remove_client,
    revoke_as_client,
    rotate_secret,
    token_of,
)

REPLICAS = 3
SERVICES = ("resource-server", "team-server")
AFTERWARDS = 20
# How often each worker is asked.
POLL = 0.05
# How long a watcher may wait, all told: for every worker to serve the token,
# then for the change, then for every worker to refuse it.
WATCH_SECONDS = 90

# Run in a replica: GET /api/me/ with the token (read from stdin), on one keep-alive
# connection per worker (the kernel hands each new connection to a worker; one that
# lands on the wanted worker is kept, so every worker is asked every POLL seconds,
# whichever the kernel favours). Once each worker has answered 200 three times,
# print "ready"; then go on until each worker has refused the token and AFTERWARDS
# more answers came, and print what happened, in time.time() stamps.
WATCH = r"""
import http.client, json, os, sys, threading, time

token = sys.stdin.readline().strip()
deadline, wanted, poll = time.time() + float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
master = 1  # the container runs gunicorn itself
workers = [int(pid) for pid in open(f"/proc/{master}/task/{master}/children").read().split()]


def serving(connection):
    client_port = connection.sock.getsockname()[1]
    inodes = set()
    with open("/proc/net/tcp") as table:
        for row in list(table)[1:]:
            fields = row.split()
            local, remote = (int(fields[n].rsplit(":", 1)[1], 16) for n in (1, 2))
            if local == 8000 and remote == client_port:
                inodes.add(f"socket:[{fields[9]}]")
    for worker in workers:
        for descriptor in os.listdir(f"/proc/{worker}/fd"):
            try:
                if os.readlink(f"/proc/{worker}/fd/{descriptor}") in inodes:
                    return worker
            except OSError:
                pass
    return None


def ask(connection):
    began = time.time()
    connection.request("GET", "/api/me/", headers={"Authorization": "Bearer " + token})
    response = connection.getresponse()
    error = json.loads(response.read()).get("error")
    return began, time.time(), response.status, error


def connection_to(worker):
    # The answers given while looking for it are the first answers of the connections tried.
    answers = []
    while time.time() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", 8000, timeout=20)
        answers.append((ask(connection), serving(connection)))
        if answers[-1][1] == worker:
            return connection, answers
        connection.close()
    sys.exit(f"no connection reached worker {worker}")


connections = {}
for worker in workers:
    connections[worker], answers = connection_to(worker)
    answers += [(ask(connections[worker]), worker) for _ in range(2)]
    if any(status != 200 for (_, _, status, _), _ in answers):
        sys.exit(f"before the change: {answers}")
print("ready", flush=True)

lock = threading.Lock()
seen = {"first_refusal": {}, "last_acceptance": {}, "accepted_after_refusing": [], "afterwards": [], "slow": []}


def record(answer, worker):
    if worker is None:  # its connection was closed before it could be told which worker served it
        return
    began, ended, status, error = answer
    refused, accepted = seen["first_refusal"], seen["last_acceptance"]
    with lock:
        if ended - began > 2:
            seen["slow"].append(round(ended - began, 3))
        if status == 200:
            accepted[worker] = max(began, accepted.get(worker, began))
            if worker in refused and began > refused[worker]:
                seen["accepted_after_refusing"].append(worker)
        else:
            refused[worker] = min(ended, refused.get(worker, ended))
        if set(workers) <= set(refused) and began > max(refused.values()):
            seen["afterwards"].append([status, error])


def watch(worker):
    connection = connections[worker]
    while len(seen["afterwards"]) < wanted and time.time() < deadline:
        try:
            record(ask(connection), worker)
        except (http.client.HTTPException, OSError):  # the server closed it: find that worker again
            connection.close()
            connection, answers = connection_to(worker)
            for answer, served_by in answers:
                record(answer, served_by)
        time.sleep(poll)


threads = [threading.Thread(target=watch, args=(worker,)) for worker in workers]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"workers": workers, **seen}))
"""


def scale(replicas: int) -> None:
    arguments = [part for service in SERVICES for part in ("--scale", f"{service}={replicas}")]
    compose("up", "-d", "--no-build", "--no-deps", "--wait", "--wait-timeout", "120", *arguments, *SERVICES)


@pytest.fixture(scope="module", autouse=True)
def replicas(stack):
    scale(REPLICAS)
    yield
    scale(1)


def containers(service: str) -> list[str]:
    return compose("ps", "--quiet", "--status", "running", service).stdout.split()


class Watcher:
    """WATCH, running in one replica."""

    def __init__(self, service: str, container: str, token: str):
        self.name = f"{service} {container[:12]}"
        self.process = subprocess.Popen(
            ["docker", "exec", "-i", container, "python", "-c", WATCH, *map(str, (WATCH_SECONDS, AFTERWARDS, POLL))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.process.stdin.write(token + "\n")
        self.process.stdin.close()

    def ready(self) -> None:
        """Once each worker of the replica has served the token (into its own layer, then from it)."""
        line = self.process.stdout.readline()
        assert line == "ready\n", f"{self.name}: {line}{self.process.stderr.read()}"

    def outcome(self) -> dict:
        # The script ends by its own deadline at the latest; its stderr is a few lines at most.
        output = self.process.stdout.read()
        assert self.process.wait(timeout=30) == 0, f"{self.name}: {self.process.stderr.read()}"
        return json.loads(output)


def assert_refused_by_every_worker_of_every_replica(token: str, event, name: str) -> None:
    watchers = [Watcher(service, container, token) for service in SERVICES for container in containers(service)]
    assert len(watchers) == REPLICAS * len(SERVICES)
    try:
        with ThreadPoolExecutor(len(watchers)) as pool:
            list(pool.map(Watcher.ready, watchers))
        done = event() or time.time()
        outcomes = {watcher.name: watcher.outcome() for watcher in watchers}
    finally:
        for watcher in watchers:
            if watcher.process.poll() is None:
                watcher.process.kill()

    for replica, seen in outcomes.items():
        assert len(seen["workers"]) == 2, (replica, seen)  # WEB_CONCURRENCY as shipped
        assert sorted(int(worker) for worker in seen["first_refusal"]) == sorted(seen["workers"]), (replica, seen)
        assert seen["accepted_after_refusing"] == [], (replica, seen)
        afterwards = seen["afterwards"]
        assert len(afterwards) >= AFTERWARDS and {tuple(answer) for answer in afterwards} == {(401, "invalid_token")}
        if seen["slow"]:
            print(f"pushed: {name}: {replica}: calls slower than 2 s: {seen['slow']}")
        for worker, refused_at in seen["first_refusal"].items():
            accepted = seen["last_acceptance"].get(worker, done) - done
            print(f"pushed: {name}: {replica}, worker {worker}: refused {refused_at - done:.3f} s", end=" ")
            print(f"after the change (last accepted {accepted:.3f} s after it)")
            assert refused_at - done < PUSHED_WITHIN, (replica, worker, refused_at - done)


def test_a_revoked_token_is_refused_by_every_replica_of_both_apis_within_seconds(client, stack):
    token = client.client_credentials_token(scope=BOTH_APIS)

    def event():
        revoked = revoke_as_client(stack, token)
        assert revoked.status_code == 200, revoked.text

    assert_refused_by_every_worker_of_every_replica(token, event, "access token revoked")


def test_a_deactivated_users_token_is_refused_by_every_replica_of_both_apis_within_seconds(stack):
    with own_user(stack) as user:
        token = user.authorization_code_tokens(scope=BOTH_APIS)["access_token"]

        assert_refused_by_every_worker_of_every_replica(token, lambda: deactivate(user), "user deactivated")


def test_a_token_of_a_client_whose_secret_is_rotated_is_refused_by_every_replica_within_seconds(client, stack):
    with own_client(stack) as (client_id, secret):
        token = token_of(client, (client_id, secret))

        def event():
            return rotate_secret(stack, client_id, "rotated-" + secret)

        assert_refused_by_every_worker_of_every_replica(token, event, "client secret rotated")


def test_a_removed_clients_token_is_refused_by_every_replica_within_seconds(client, stack):
    with own_client(stack) as (client_id, secret):
        token = token_of(client, (client_id, secret))

        def event():
            return remove_client(stack, client_id)

        assert_refused_by_every_worker_of_every_replica(token, event, "client removed")
