"""Plain http redirects, for loopback IP literals only (RFC 8252 §7.3, RFC 9700 §2.1).

ALLOWED_REDIRECT_URI_SCHEMES stays ``https`` (DOT's deploy check warns on http),
and DOT checks a client's redirects against it. A redirect to ``http://127.0.0.1``
or ``http://[::1]`` never leaves the user's machine, so it is accepted there, for
the authorization response and after RP-initiated logout alike. ``localhost`` is
not: a name can resolve elsewhere (RFC 8252 §8.3). Every other http URI stays refused.
"""

from urllib.parse import urlsplit

from oauth2_provider.settings import oauth2_settings

LOOPBACK_HOSTS = ("127.0.0.1", "::1")


def is_loopback_http(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def redirect_schemes(application, uri: str) -> list[str]:
    """The schemes a redirect to ``uri`` may use: the client's, and http when ``uri`` is a loopback one."""
    schemes = list(application.get_allowed_schemes() if application else oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES)
    if is_loopback_http(uri) and "http" not in schemes:
        schemes.append("http")
    return schemes


def may_register(uri: str) -> bool:
    """Whether a client may register ``uri`` to be sent back to: an allowed scheme, or loopback http."""
    return urlsplit(uri).scheme in oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES or is_loopback_http(uri)


class LoopbackClient:
    """A client whose redirects to one loopback http ``uri`` are allowed, for DOT code that asks the client.

    DOT's RP-initiated logout checks ``application.get_allowed_schemes()`` itself.
    """

    def __init__(self, application, uri: str):
        self._application = application
        self._uri = uri

    def __getattr__(self, name):
        return getattr(self._application, name)

    def get_allowed_schemes(self) -> list[str]:
        return redirect_schemes(self._application, self._uri)
