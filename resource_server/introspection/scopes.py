"""Scope rules with Authlib's semantics.

A rule is a list of alternatives; each alternative is a space-separated set of
scopes that must all be present. ``["profile email", "user"]`` means
(profile AND email) OR user. A plain string is one alternative.
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

    def first_alternative(self) -> str:
        return " ".join(sorted(self.alternatives[0]))

    def __str__(self):
        return " or ".join("(" + " and ".join(sorted(a)) + ")" for a in self.alternatives)
