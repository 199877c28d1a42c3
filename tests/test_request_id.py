"""shared/request_id.py on its own: which ids are kept, and that none outlives its request.

The servers' answers and logs are tested end to end in test_request_ids.py.
"""

import io
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from django.core.signals import request_finished

from shared import request_id
from shared.logging import logging_config

FRESH = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    "value",
    ["a", "0123-abcd", "9f3b2c1e-7d4a-4e5f-8a6b-0c1d2e3f4a5b", "svc.web:42_x", "x" * 128],
)
def test_a_well_formed_id_is_kept(value):
    assert request_id.accepted(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "x" * 129,
        "two words",
        "id\r\nSet-Cookie: a=b",
        "id\n",  # $ in a regular expression would let a final newline through
        "tab\there",
        '"quoted"',
        "a,b",  # two X-Request-ID headers, joined by the server
        "caf\u00e9",
        "\u0669",  # an Arabic-Indic digit: a digit to str.isdigit, not to the policy
        "a/b",
        "a%0Ab",
    ],
)
def test_anything_else_is_replaced_by_a_fresh_id(value):
    assert FRESH.fullmatch(request_id.accepted(value))


def test_fresh_ids_differ():
    assert len({request_id.accepted(None) for _ in range(100)}) == 100


def serve(headers: dict, view=lambda: None) -> dict:
    """One request through the middleware, then what closing its response does.

    Not request_finished.send(): Django's database receiver on that signal needs
    settings, which this process has none of.
    """
    request = SimpleNamespace(headers=headers)

    def get_response(request):
        view()
        return {}

    response = request_id.RequestIdMiddleware(get_response)(request)
    seen_before_close = request_id.current()
    request_id.forget()
    return {"header": response[request_id.HEADER], "current": seen_before_close}


def test_the_response_names_the_id_and_current_gives_it_until_the_response_is_closed():
    served = serve({"X-Request-ID": "abc-1"})

    assert served == {"header": "abc-1", "current": "abc-1"}
    assert request_id.current() is None


def test_the_id_is_forgotten_when_the_response_is_closed():
    # request_finished is what a WSGI server's close() of the response sends.
    assert request_finished.disconnect(dispatch_uid=request_id.FORGET)
    request_finished.connect(request_id.forget, dispatch_uid=request_id.FORGET)


def test_without_an_incoming_id_one_is_generated():
    served = serve({})

    assert FRESH.fullmatch(served["header"])
    assert served["current"] == served["header"]


def test_a_thread_serving_one_request_after_another_never_keeps_the_last_id():
    # A gthread worker runs requests one after another on the same threads.
    with ThreadPoolExecutor(max_workers=1) as thread:
        assert thread.submit(serve, {"X-Request-ID": "first"}).result()["current"] == "first"
        assert thread.submit(request_id.current).result() is None
        assert thread.submit(serve, {}).result()["current"] != "first"


def log_lines(during_request, after_request) -> list[str]:
    """What the servers' log format writes, during a request and after it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(logging_config()["formatters"]["plain"]["format"]))
    handler.addFilter(request_id.RequestIdFilter())
    log = logging.getLogger("tests.request_id")
    log.addHandler(handler)
    log.propagate = False
    try:
        serve({"X-Request-ID": "joined-1"}, view=lambda: log.warning(during_request))
        log.warning(after_request)
    finally:
        log.removeHandler(handler)
    return stream.getvalue().splitlines()


def test_log_lines_name_the_request_they_were_written_for():
    during, after = log_lines("while serving", "between requests")

    assert during.endswith(" request_id=joined-1 while serving")
    assert after.endswith(" request_id=- between requests")


def test_the_configuration_puts_the_filter_on_the_handler():
    # On a logger it would miss records propagated from other loggers (django.request).
    config = logging_config()

    assert config["handlers"]["stderr"]["filters"] == ["request_id"]
    assert config["filters"]["request_id"]["()"] == "shared.request_id.RequestIdFilter"
