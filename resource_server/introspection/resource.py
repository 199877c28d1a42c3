"""This API's resource identifier (RFC 8707 §2) and its metadata URL (RFC 9728 §3.1).

The identifier is configured, never derived from a request: the Host header
differs between 127.0.0.1, localhost, a proxy and a service name, while the
audience a token is checked against, and the ``resource`` the metadata
advertises, must be one value.
"""

import re
from urllib.parse import urlsplit, urlunsplit

WELL_KNOWN_PATH = "/.well-known/oauth-protected-resource"
# RFC 3986 §3.3 path characters, unencoded: the path also becomes a URL route,
# which Django matches against the decoded path.
PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")


def identifier_problem(identifier: str) -> str | None:
    """Why ``identifier`` cannot be a resource identifier; None when it can."""
    try:
        parts = urlsplit(identifier)
        port = parts.port  # ValueError for a port that is not a number in range
    except ValueError:
        return "it is not a URL"
    if parts.scheme not in ("https", "http") or not parts.hostname or port == 0:
        return "it must be an absolute http(s) URL with a host"
    if parts.username is not None or parts.password is not None:
        return "it must not carry a user name or password"
    # RFC 8707 §2: no fragment, and no query (SHOULD NOT), so the RFC 9728 §3.1
    # metadata URL is the host plus the well-known path plus the resource's path.
    if parts.fragment or "#" in identifier or parts.query or "?" in identifier:
        return "it must have no query and no fragment"
    if not PATH.fullmatch(parts.path):
        return "its path must be plain URL path characters, not percent-encoded"
    return None


def metadata_path(identifier: str) -> str:
    """RFC 9728 §3.1: the well-known path, then the resource's path (a lone terminating slash dropped)."""
    path = urlsplit(identifier).path
    return WELL_KNOWN_PATH + ("" if path == "/" else path)


def metadata_url(identifier: str) -> str:
    parts = urlsplit(identifier)
    return urlunsplit((parts.scheme, parts.netloc, metadata_path(identifier), "", ""))
