"""RFC 7662 §2.2: the shape of an introspection answer, checked before anything reads it.

Whatever the authorization server (or the token cache) hands over, the rest of
the resource server may then rely on the types: an answer that passes never
turns into a 500 further down (``math.floor(1e400)``, ``NaN`` compared with the
clock, a note saved without an owner).
"""

# RFC 7519 NumericDate seconds. 2**53 is where floats stop counting whole seconds,
# far past any real expiry; NaN, infinities, bools and huge integers fall outside.
LATEST_TIME = 2**53
TIMES = ("exp", "iat", "nbf")
STRINGS = ("scope", "client_id", "username", "sub", "token_type", "iss")


def is_time(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < LATEST_TIME


def is_audience(value) -> bool:
    """RFC 7662 §2.2 ``aud``: a string, or a list of strings."""
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value))


def is_introspection_response(claims) -> bool:
    """An object with a boolean ``active`` and well-typed members.

    A member that is absent or null is not checked. An active answer must name a
    non-empty ``sub``: this resource server keys its data by subject.
    """
    if not isinstance(claims, dict) or not isinstance(claims.get("active"), bool):
        return False
    present = {name: value for name, value in claims.items() if value is not None}
    if not all(is_time(present[name]) for name in TIMES if name in present):
        return False
    if not all(isinstance(present[name], str) for name in STRINGS if name in present):
        return False
    if "aud" in present and not is_audience(present["aud"]):
        return False
    return not claims["active"] or bool(present.get("sub"))
