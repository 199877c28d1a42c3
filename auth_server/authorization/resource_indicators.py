"""RFC 8707 resource indicators that DOT 3.4.1 cannot even parse.

DOT checks each ``resource`` with urlsplit but lets its ValueError (an unclosed
IPv6 literal such as ``https://[::1/``) escape as a 500. These give such a value
the invalid_target error DOT gives any other invalid resource.
"""

from urllib.parse import urlsplit

from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error


def unparsable(resources) -> str | None:
    """The first of ``resources`` that urlsplit refuses, if any."""
    for resource in resources:
        try:
            urlsplit(resource)
        except ValueError:
            return resource
    return None


def invalid_target(resource: str, **kwargs) -> CustomOAuth2Error:
    return CustomOAuth2Error(
        error="invalid_target",
        description=f"The resource '{resource}' is not a valid resource indicator: "
        "it must be an absolute URI with a scheme and host.",
        **kwargs,
    )
