"""Request ids: one id per request, in the response, in every log line, sent on to the AS.

The policy is Rails' (ActionDispatch::RequestId): an ``X-Request-ID`` the
request carries is kept, else one is generated, and the response names it.
Unlike Rails, which strips the characters it does not allow and keeps the rest,
an id that is not entirely well formed is replaced by a fresh one: a header
value goes into log lines and back into a response header, so CR, LF, spaces
or quotes never pass (log injection, response splitting), and an id cut down
to its allowed characters would pretend to be one the caller sent.

Under Compose the proxy sets the header (compose/proxy/servers.caddy), so
clients cannot choose the ids in the logs; the resource server sends its own
id when it introspects, so one id joins the lines of both servers.
"""

import logging
import re
import uuid
from contextvars import ContextVar

from django.core.signals import request_finished

HEADER = "X-Request-ID"
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,128}")

FORGET = "shared.request_id.forget"  # the dispatch_uid of forget's connection to request_finished

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current() -> str | None:
    """The id of the request being served in this thread, or None outside a request."""
    return _current.get()


def accepted(value: str | None) -> str:
    """``value`` if it is a well-formed id, else a fresh one (a uuid4 in hex)."""
    if value is not None and WELL_FORMED.fullmatch(value):
        return value
    return uuid.uuid4().hex


def forget(**kwargs) -> None:
    """Outside a request again: Django sends request_finished when the response is closed."""
    # request_finished is sent when the WSGI server closes the response, after
    # Django's own "django.request" lines for a 4xx/5xx (BaseHandler.get_response
    # writes them once the middleware has returned), so they still carry the id.
    # gthread workers serve many requests per thread: nothing may carry over.
    _current.set(None)


request_finished.connect(forget, dispatch_uid=FORGET)


class RequestIdMiddleware:
    """First in MIDDLEWARE: every answer names its id, an error, a redirect or a CORS preflight too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = accepted(request.headers.get(HEADER))
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Gives every record ``request_id``: the current request's id, or "-" outside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current() or "-"
        return True
