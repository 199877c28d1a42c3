import contextlib
import json
import time

from django.test import SimpleTestCase, override_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from introspection import bearer, cache
from introspection.errors import InvalidToken
from introspection.response import is_introspection_response

ACTIVE = {"active": True, "scope": "read", "client_id": "c", "sub": "s", "exp": 2_000_000_000}

# Any JSON document Python's parser turns into objects, NaN and huge numbers included.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)
members = st.sampled_from(["active", "exp", "iat", "nbf", "scope", "sub", "aud", "token_type", "client_id"])


class IntrospectionResponseTests(SimpleTestCase):
    def test_well_typed_answers_pass(self):
        for claims in (
            {"active": False},
            ACTIVE,
            {**ACTIVE, "aud": "https://api.example/", "iat": 1.5, "nbf": 0, "username": None},
            {**ACTIVE, "aud": ["https://a.example/", "https://b.example/"], "extension": {"any": ["thing"]}},
        ):
            with self.subTest(claims=claims):
                self.assertTrue(is_introspection_response(claims))

    def test_ill_typed_answers_fail(self):
        huge = json.loads("1" + "0" * 400)
        for claims in (
            None,
            [],
            {"active": "true"},
            {"scope": "read"},
            {**ACTIVE, "exp": float("inf")},
            {**ACTIVE, "exp": float("-inf")},
            {**ACTIVE, "exp": float("nan")},
            {**ACTIVE, "exp": huge},
            {**ACTIVE, "exp": -1},
            {**ACTIVE, "exp": True},
            {**ACTIVE, "exp": "tomorrow"},
            {**ACTIVE, "iat": float("nan")},
            {**ACTIVE, "nbf": [1]},
            {**ACTIVE, "scope": ["read"]},
            {**ACTIVE, "client_id": 7},
            {**ACTIVE, "token_type": {"bearer": 1}},
            {**ACTIVE, "aud": 7},
            {**ACTIVE, "aud": ["https://api.example/", 7]},
            {key: value for key, value in ACTIVE.items() if key != "sub"},
            {**ACTIVE, "sub": ""},
            {**ACTIVE, "sub": None},
        ):
            with self.subTest(claims=claims):
                self.assertFalse(is_introspection_response(claims))

    @override_settings(RESOURCE_SERVER_TOKEN_CACHING_SECONDS=60, RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS=60)
    @hypothesis_settings(database=None)  # no example database left in the working tree
    @given(st.dictionaries(members, json_values) | json_values)
    def test_an_answer_that_passes_is_accepted_or_refused_never_an_error(self, claims):
        if not is_introspection_response(claims):
            return
        cache.lifetime(claims)
        with contextlib.suppress(InvalidToken):
            bearer.check(claims)

    def test_a_future_nbf_is_invalid(self):
        with self.assertRaises(InvalidToken):
            bearer.check({**ACTIVE, "nbf": time.time() + 60})
