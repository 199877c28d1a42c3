from rest_framework.permissions import BasePermission

from .errors import InsufficientScope, MissingToken
from .scopes import ScopeRule


class HasScopes(BasePermission):
    """The token's scopes must satisfy the view's ``required_scopes`` rule.

    ``required_scopes`` is a rule (``["profile email", "user"]`` means
    (profile AND email) OR user) or a dict from HTTP method to rule. A view with
    ``token_optional = True`` also serves requests without a token; a token that
    is present must still be valid and satisfy the rule.
    """

    def has_permission(self, request, view):
        if request.auth is None:
            if getattr(view, "token_optional", False):
                return True
            raise MissingToken(request)
        rule = self.rule(request, view)
        if rule is not None and not rule.allows(request.auth.scope):
            raise InsufficientScope(request, rule)
        return True

    @staticmethod
    def rule(request, view) -> ScopeRule | None:
        required = getattr(view, "required_scopes", None)
        if isinstance(required, dict):
            required = required.get(request.method)
        return ScopeRule(required) if required else None
