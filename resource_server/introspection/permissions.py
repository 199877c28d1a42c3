from rest_framework.permissions import BasePermission

from .errors import InsufficientScope, MissingToken
from .scopes import MethodRules


class HasScopes(BasePermission):
    """The token's scopes must satisfy the view's ``required_scopes`` rule.

    ``required_scopes`` is a rule (``["profile email", "user"]`` means
    (profile AND email) OR user) or a dict from HTTP method to rule, in which
    None means "any valid token" and a method it does not name is refused (HEAD
    follows GET); see MethodRules. A view with ``token_optional = True`` also
    serves requests without a token; a token that is present must still be valid
    and satisfy the rule.
    """

    def has_permission(self, request, view):
        if request.auth is None:
            if getattr(view, "token_optional", False):
                return True
            raise MissingToken()
        rule = MethodRules(getattr(view, "required_scopes", None)).rule(request.method)
        if rule is not None and not rule.allows(request.auth.scope):
            raise InsufficientScope(rule)
        return True
