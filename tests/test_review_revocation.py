"""Review: a revoked token accepted again, end to end, on the real servers."""

import time

import pytest
from diskcache import Disk, FanoutCache, JSONDisk
from diskcache.core import UNKNOWN

from .test_revocation_push import BOTH_APIS, cache_everywhere, deactivate, first_api, own_user  # noqa: F401

# Django's key function (KEY_PREFIX "", VERSION 1) around revocations.py's keys.
COUNTER = ":1:introspection-revocations"
ENTRY = ":1:introspection-revocation:"


class CounterDisk(JSONDisk):
    """Keys as the RS's disk writes them; an int (the log's counter) kept as an SQLite integer, as it does."""

    def store(self, value, read, key=UNKNOWN):
        if type(value) is int:
            return Disk.store(self, value, read, key=key)
        return super().store(value, read, key=key)

    def fetch(self, mode, filename, value, read):
        return value if type(value) is int else super().fetch(mode, filename, value, read)


def refused_everywhere(api, token: str, seconds: float = 15) -> None:
    """Every worker of ``api`` has applied the notice: 20 answers in a row are 401."""
    deadline = time.monotonic() + seconds
    while [status for status, _, _ in (api.answer(token) for _ in range(20))] != [401] * 20:
        assert time.monotonic() < deadline, "the notice was not applied"


@pytest.mark.local_stack
def test_a_restarted_api_still_refuses_a_deactivated_users_cached_token_past_a_lost_log_entry(stack, first_api):  # noqa: F811
    with own_user(stack) as user:
        token = user.authorization_code_tokens(scope=BOTH_APIS)["access_token"]
        cache_everywhere([first_api], token)
        deactivate(user)
        refused_everywhere(first_api, token)

        # A later notice's publish() counted its entry, then its set() failed (a token-cache hiccup):
        # the receiver answered 503 and the AS's retry was logged under the next number.
        log = FanoutCache(first_api.server.env["RS_CACHE_DIR"], disk=CounterDisk)
        hole = log.incr(COUNTER)
        try:
            # A restart (a deploy, gunicorn recycling a worker): the new workers read the log back
            # from the counter and stop at the missing entry, before the user's revocation.
            first_api.server.stop()
            first_api.server.start()

            answers = [first_api.answer(token) for _ in range(5)]
            # The cached answer, asked before the user was deactivated, is trusted again: 200.
            assert [status for status, _, _ in answers] == [401] * 5, answers
        finally:
            revoked_nothing = {"kind": "token", "value": "0" * 64, "received": time.time()}
            log.set(ENTRY + str(hole), revoked_nothing, expire=300)  # no hole left for later tests
