"""RFC 8707 resource indicators: which ``resource`` values this issuer accepts.

A ``resource`` must name an enabled registered API, by the exact identifier it
was registered with (RFC 8707 §2 lets the AS decide which values it accepts;
comparing strings exactly leaves no doubt about which API a token is for).
Anything else is ``invalid_target``.

DOT 3.4.1 also checks each value with urlsplit but lets its ValueError (an
unclosed IPv6 literal such as ``https://[::1/``) escape as a 500; such a value
gets the same invalid_target here.
"""

from urllib.parse import urlsplit

from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error

SYNTAX = "it must be an absolute URI with a scheme and host."


def unparsable(resources) -> str | None:
    """The first of ``resources`` that urlsplit refuses, if any."""
    for resource in resources:
        try:
            urlsplit(resource)
        except ValueError:
            return resource
    return None


def identifier_problem(identifier: str) -> str | None:
    """Why ``identifier`` cannot be registered as an API's resource identifier; None when it can.

    RFC 8707 §2: an absolute URI without a fragment, which SHOULD NOT have a query.
    DOT compares resources by scheme, host, port and path, so a host is required
    and user information refused as it does.
    """
    try:
        parts = urlsplit(identifier)
        parts.port  # noqa: B018 - a port that is no number in range raises ValueError
    except ValueError:
        return "it is not a URI"
    if not parts.scheme or not parts.hostname:
        return "it must be an absolute URI with a scheme and a host, e.g. https://api.example.com/"
    if parts.username is not None or parts.password is not None:
        return "it must not carry a user name or password"
    if parts.fragment or "#" in identifier or parts.query or "?" in identifier:
        return "it must have no fragment (RFC 8707 §2) and no query"
    if identifier != identifier.strip() or any(character.isspace() for character in identifier):
        return "it must not contain white space"
    return None


def invalid_target(resource: str, description: str = SYNTAX, **kwargs) -> CustomOAuth2Error:
    return CustomOAuth2Error(
        error="invalid_target",
        description=f"The resource '{resource}' is not a valid resource indicator: {description}",
        **kwargs,
    )


def unregistered(resource: str, **kwargs) -> CustomOAuth2Error:
    return invalid_target(resource, "it names no API registered at this authorization server.", **kwargs)


def requested(request) -> list[str]:
    """Every ``resource`` of an oauthlib request, in the order sent.

    oauthlib keeps only the last value of a repeated parameter; RFC 8707 §2 lets a
    client repeat ``resource``. At the token endpoint DOT recovers the values from
    the body; the authorization endpoint's form hands them over as a list.
    """
    resource = request.resource
    if isinstance(resource, list):
        return resource
    sent = [value for key, value in (request.decoded_body or []) if key == "resource"]
    sent = sent or [value for key, value in request.uri_query_params if key == "resource"]
    return [value for value in sent if value.strip()]
