"""What a view knows about the access token of the request."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IntrospectedToken:
    """The introspected token's data, as ``request.oauth_token`` (and ``request.auth`` in DRF).

    ``sub`` identifies who the token acts for: the user, or the client itself for
    a client-credentials token (then ``username`` is None). ``claims`` holds the
    whole RFC 7662 answer.
    """

    scope: frozenset[str]
    client_id: str | None
    username: str | None
    sub: str | None
    exp: int | None
    claims: dict = field(repr=False, compare=False)

    @classmethod
    def from_claims(cls, claims: dict) -> "IntrospectedToken":
        return cls(
            scope=frozenset(str(claims.get("scope") or "").split()),
            client_id=claims.get("client_id"),
            username=claims.get("username"),
            sub=claims.get("sub"),
            exp=claims.get("exp"),
            claims=claims,
        )

    @property
    def user(self) -> "TokenUser":
        return TokenUser(self)


class TokenUser:
    """``request.user`` for a bearer token: authenticated, with no database row.

    DOT's resource-server mode copies every user into the RS's database and leaves
    ``request.user=None`` for client-credentials tokens, which breaks
    ``IsAuthenticated`` (DOT#38, #470, #603, #1027, #1197). This object answers
    both without touching a database.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, token: IntrospectedToken):
        self.token = token
        self.pk = self.id = token.sub
        self.username = token.username or ""

    def get_username(self) -> str:
        return self.username

    def __str__(self):
        return self.username or f"client {self.token.client_id}"
