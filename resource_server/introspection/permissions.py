from rest_framework.permissions import BasePermission

from .conf import introspection_settings
from .errors import InsufficientScope, MissingToken
from .scopes import MethodRules


def enforce(rules: MethodRules, method: str, granted: frozenset[str]) -> None:
    """Raise InsufficientScope unless ``granted`` satisfies the rule for ``method``, qualified as configured.

    The challenge's ``scope`` then names qualified scopes, the ones a client asks the AS for.
    """
    rule = rules.rule(method, introspection_settings.SCOPE_PREFIX)
    if rule is not None and not rule.allows(granted):
        raise InsufficientScope(rule)


class HasScopes(BasePermission):
    """The token's scopes must satisfy the view's ``required_scopes`` rule.

    ``required_scopes`` is a rule (``["profile email", "user"]`` means
    (profile AND email) OR user) or a dict from HTTP method to rule, in which
    None means "any valid token" and a method it does not name is refused (HEAD
    follows GET); see MethodRules. A view with ``token_optional = True`` also
    serves requests without a token; a token that is present must still be valid
    and satisfy the rule. Scope names are local (RESOURCE_SERVER_SCOPE_PREFIX
    qualifies them).
    """

    def has_permission(self, request, view):
        if request.auth is None:
            if getattr(view, "token_optional", False):
                return True
            raise MissingToken()
        enforce(MethodRules(getattr(view, "required_scopes", None)), request.method, request.auth.scope)
        return True
