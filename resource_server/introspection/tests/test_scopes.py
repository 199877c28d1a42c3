from django.test import SimpleTestCase

from introspection.scopes import MethodRules, ScopeRule


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

    def test_a_prefix_qualifies_every_name_of_every_alternative(self):
        rule = ScopeRule(["profile email", "user"]).qualified("team:")

        self.assertTrue(rule.allows(frozenset({"team:profile", "team:email"})))
        self.assertTrue(rule.allows(frozenset({"team:user"})))
        self.assertFalse(rule.allows(frozenset({"profile", "email", "user"})))
        self.assertEqual(str(rule), "(team:email and team:profile) or (team:user)")
        self.assertEqual(rule.first_alternative(), "team:email team:profile")

    def test_an_empty_prefix_keeps_the_rule(self):
        rule = ScopeRule("read")

        self.assertIs(rule.qualified(""), rule)

    def test_empty_rule_is_a_programming_error(self):
        for rule in ([], [""], ""):
            with self.assertRaises(ValueError):
                ScopeRule(rule)


class MethodRulesTests(SimpleTestCase):
    def test_one_rule_covers_every_method(self):
        rules = MethodRules(["read"])

        for method in ("GET", "HEAD", "POST", "PATCH", "OPTIONS"):
            self.assertEqual(str(rules.rule(method)), "(read)")

    def test_no_rule_means_any_valid_token(self):
        self.assertIsNone(MethodRules(None).rule("DELETE"))

    def test_head_follows_get_unless_named(self):
        self.assertEqual(str(MethodRules({"GET": "read"}).rule("HEAD")), "(read)")
        self.assertEqual(str(MethodRules({"GET": "read", "HEAD": "notes"}).rule("HEAD")), "(notes)")

    def test_a_method_the_dict_does_not_name_is_granted_by_no_scope(self):
        rules = MethodRules({"GET": "read", "POST": "write"})

        for method in ("PATCH", "PUT", "DELETE", "OPTIONS", "TRACE"):
            rule = rules.rule(method)
            self.assertFalse(rule.allows(frozenset({"read", "write", "notes"})))
        self.assertFalse(MethodRules({"POST": "write"}).rule("HEAD").allows(frozenset({"read", "write"})))

    def test_none_for_a_method_says_any_valid_token(self):
        rules = MethodRules({"GET": "read", "OPTIONS": None})

        self.assertIsNone(rules.rule("OPTIONS"))

    def test_the_prefix_qualifies_the_rule_of_the_method_and_leaves_no_scope_and_none_alone(self):
        rules = MethodRules({"GET": "read", "OPTIONS": None})

        self.assertEqual(str(rules.rule("GET", "team:")), "(team:read)")
        self.assertEqual(str(rules.rule("HEAD", "team:")), "(team:read)")
        self.assertIsNone(rules.rule("OPTIONS", "team:"))
        self.assertEqual(rules.rule("DELETE", "team:").alternatives, [])

    def test_an_empty_rule_fails_when_the_rules_are_built(self):
        for required in ([], "", {"GET": []}, {"GET": ""}):
            with self.subTest(required=required), self.assertRaises(ValueError):
                MethodRules(required)
