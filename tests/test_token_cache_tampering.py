"""Whoever can write to the token cache can neither run code in the RS nor choose who a token is.

Each test plants a value under the token's real cache key, in Redis and in the
directory cache, then calls the RS: the token is introspected again and served
as the AS says, nothing is unpickled, nothing is a 500.
"""

import hashlib
import json
import os
import pickle
import time

import pytest
import redis
import requests
from diskcache import Disk, FanoutCache, JSONDisk
from diskcache.core import MODE_BINARY, MODE_PICKLE

from .oauth import bearer

# What the API makes of its cache's contents does not depend on how it asks the AS (its caller mode).
# Once, on the first stack (the one_stack marker).
pytestmark = pytest.mark.one_stack

FORGED = {"active": True, "scope": "read write notes", "client_id": "forged", "sub": "forged", "username": "admin"}


class CreatesFile:
    """Unpickling it creates ``path``: proof that the RS ran code from the cache."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def cache_key(token: str) -> str:
    # Django's default key function: KEY_PREFIX "" and VERSION 1 around the RS's own key.
    return ":1:introspection:" + hashlib.sha256(token.encode()).hexdigest()


def planted_values(marker) -> dict:
    return {
        "pickle-that-runs-code": CreatesFile(marker),
        "pickled-identity": FORGED,
        "json-identity": json.dumps(FORGED),
        "json-entry-with-a-forged-mac": json.dumps(
            {"claims": json.dumps(FORGED), "until": time.time() + 60, "mac": "0" * 64}
        ),
    }


PLANTED = list(planted_values("unused"))


def me(server, token):
    return requests.get(f"{server.url}/api/me/", headers=bearer(token), timeout=15)


def assert_served_as_the_as_says(response, stack, relay, marker):
    assert not marker.exists(), "the RS unpickled the planted value"
    assert response.status_code == 200, response.text
    assert response.json()["client_id"] == stack.secrets["DEMO_CLIENT_ID"]
    assert response.json()["scope"] == "read"
    assert relay.calls == 1  # introspected: the planted value was not trusted


def assert_noticed(server):
    assert "token cache entry" in server.log.read_text()  # throttled, like the other warnings


@pytest.mark.parametrize("planted", PLANTED)
def test_a_value_planted_in_redis_is_not_trusted(
    client, stack, resource_server, relay, redis_server, planted, tmp_path
):
    _, url = redis_server
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RS_CACHE_URL=url)
    token = client.client_credentials_token(scope="read")
    marker = tmp_path / "unpickled"
    value = planted_values(marker)[planted]
    store = redis.Redis.from_url(url)
    store.set(cache_key(token), value if isinstance(value, str) else pickle.dumps(value), ex=60)

    response = me(server, token)

    assert_served_as_the_as_says(response, stack, relay, marker)
    replaced = json.loads(store.get(cache_key(token)))  # the RS's own entry now: JSON
    assert json.loads(replaced["claims"])["client_id"] == stack.secrets["DEMO_CLIENT_ID"]
    assert_noticed(server)


class PicklingDisk(JSONDisk):
    """Keys as the RS's disk writes them; values as diskcache's default Disk does (pickle)."""

    def store(self, value, read, key=None):
        return Disk.store(self, value, read)


class NoPickleReader(JSONDisk):
    def fetch(self, mode, filename, value, read):
        assert mode != MODE_PICKLE, "the planted pickle is still in the cache"
        return super().fetch(mode, filename, value, read)


@pytest.mark.parametrize("planted", [*PLANTED, "bytes-that-are-not-json"])
def test_a_value_planted_in_the_cache_directory_is_not_trusted(
    client, stack, resource_server, relay, planted, tmp_path
):
    directory = tmp_path / "token-cache"
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RS_CACHE_DIR=str(directory))
    token = client.client_credentials_token(scope="read")
    marker = tmp_path / "unpickled"
    values = {**planted_values(marker), "bytes-that-are-not-json": b"\x00 not compressed json"}
    if planted.startswith("json-"):
        FanoutCache(directory, disk=JSONDisk).set(cache_key(token), json.loads(values[planted]), expire=60)
    else:
        FanoutCache(directory, disk=PicklingDisk).set(cache_key(token), values[planted], expire=60)

    response = me(server, token)

    assert_served_as_the_as_says(response, stack, relay, marker)
    replaced = FanoutCache(directory, disk=NoPickleReader).get(cache_key(token))
    assert json.loads(replaced["claims"])["client_id"] == stack.secrets["DEMO_CLIENT_ID"]
    assert_noticed(server)


def test_an_answer_copied_to_another_tokens_key_is_not_trusted(client, stack, resource_server, relay, redis_server):
    _, url = redis_server
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RS_CACHE_URL=url)
    writer = client.client_credentials_token(scope="read write")
    reader = client.client_credentials_token(scope="read")
    assert me(server, writer).status_code == 200
    store = redis.Redis.from_url(url)
    store.set(cache_key(reader), store.get(cache_key(writer)), ex=60)

    response = requests.post(f"{server.url}/api/notes/", json={"text": "escalated"}, headers=bearer(reader), timeout=15)

    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert 'scope="write"' in response.headers["WWW-Authenticate"]
    assert relay.calls == 2  # the reader's token was introspected, not read from the copy
    assert_noticed(server)


def file_naming_disk(named: str) -> type:
    """A disk whose rows name ``named``, as diskcache's Disk does for large values, whatever the file."""

    def store(self, value, read, key=None):
        return 0, MODE_BINARY, named, None

    return type("FileNamingDisk", (JSONDisk,), {"store": store})


@pytest.mark.parametrize("named", ["a file outside the cache", "a FIFO"])
def test_a_row_naming_a_file_is_neither_read_nor_removed(client, stack, resource_server, relay, named, tmp_path):
    directory = tmp_path / "token-cache"
    server = resource_server(RESOURCE_SERVER_INTROSPECTION_URL=relay.url, RS_CACHE_DIR=str(directory))
    token = client.client_credentials_token(scope="read")
    victim = tmp_path / "victim"
    if named == "a FIFO":
        os.mkfifo(victim)  # opening it for reading would block the worker's thread
    else:
        victim.write_text("someone else's file")
    FanoutCache(directory, disk=file_naming_disk(str(victim))).set(cache_key(token), "planted", expire=60)

    response = me(server, token)

    assert_served_as_the_as_says(response, stack, relay, tmp_path / "unpickled")
    assert victim.exists()  # replacing the planted row removed no file
    assert_noticed(server)
