"""Scope rules with Authlib's semantics, and which rule an HTTP method gets.

A rule is a list of alternatives; each alternative is a space-separated set of
scopes that must all be present. ``["profile email", "user"]`` means
(profile AND email) OR user. A plain string is one alternative.

Names in rules are local: RESOURCE_SERVER_SCOPE_PREFIX qualifies them before
they are compared with a token's scopes, so one codebase serves APIs whose
scopes the AS names differently (``read`` is ``team:read`` for the team API).
"""


class ScopeRule:
    def __init__(self, rule):
        if isinstance(rule, str):
            rule = [rule]
        self.alternatives = [frozenset(alternative.split()) for alternative in rule]
        if not self.alternatives or not all(self.alternatives):
            raise ValueError(f"A scope rule needs at least one non-empty alternative, got {rule!r}.")

    def allows(self, granted: frozenset[str]) -> bool:
        return any(alternative <= granted for alternative in self.alternatives)

    def qualified(self, prefix: str) -> "ScopeRule":
        """This rule with every scope name prefixed: the names the AS grants."""
        if not prefix:
            return self
        return ScopeRule([" ".join(prefix + scope for scope in alternative) for alternative in self.alternatives])

    def first_alternative(self) -> str:
        return " ".join(sorted(self.alternatives[0]))

    def __str__(self):
        return " or ".join("(" + " and ".join(sorted(a)) + ")" for a in self.alternatives)


class NoScope(ScopeRule):
    """The rule of a method that a per-method dict does not name: no token satisfies it."""

    def __init__(self):
        self.alternatives = []

    def qualified(self, prefix: str) -> "NoScope":
        return self


class MethodRules:
    """A view's ``required_scopes``, as the rule of each HTTP method.

    ``required`` is None (any valid token), one rule for every method, or a dict
    from HTTP method to rule, where None says explicitly "any valid token, no
    scope". HEAD follows GET unless the dict names it (RFC 9110 §9.3.2: HEAD is
    GET without the body). Any other method the dict does not name gets NoScope:
    a method a view starts to serve later is refused until a rule names it.
    """

    def __init__(self, required):
        if isinstance(required, dict):
            self.by_method = {method: None if rule is None else ScopeRule(rule) for method, rule in required.items()}
            self.by_method.setdefault("HEAD", self.by_method.get("GET", NoScope()))
            self.otherwise = NoScope()
        else:
            self.by_method = {}
            self.otherwise = None if required is None else ScopeRule(required)

    def rule(self, method: str, prefix: str = "") -> ScopeRule | None:
        """The rule for ``method``, its names qualified with ``prefix``; None means any valid token."""
        rule = self.by_method.get(method, self.otherwise)
        return None if rule is None else rule.qualified(prefix)
