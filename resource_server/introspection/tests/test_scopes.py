from django.test import SimpleTestCase

from introspection.scopes import ScopeRule


class ScopeRuleTests(SimpleTestCase):
    def test_one_string_is_one_alternative_of_scopes_all_required(self):
        rule = ScopeRule("profile email")

        self.assertTrue(rule.allows(frozenset({"profile", "email", "other"})))
        self.assertFalse(rule.allows(frozenset({"profile"})))

    def test_list_elements_are_alternatives(self):
        rule = ScopeRule(["profile", "email"])

        self.assertTrue(rule.allows(frozenset({"email"})))
        self.assertFalse(rule.allows(frozenset({"read"})))

    def test_mixed_rule_is_or_of_ands(self):
        rule = ScopeRule(["profile email", "user"])

        self.assertTrue(rule.allows(frozenset({"profile", "email"})))
        self.assertTrue(rule.allows(frozenset({"user"})))
        self.assertFalse(rule.allows(frozenset({"profile"})))
        self.assertEqual(str(rule), "(email and profile) or (user)")
        self.assertEqual(rule.first_alternative(), "email profile")

    def test_empty_rule_is_a_programming_error(self):
        for rule in ([], [""], ""):
            with self.assertRaises(ValueError):
                ScopeRule(rule)
