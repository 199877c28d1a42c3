import base64
from unittest import mock

import requests
from django.test import SimpleTestCase, override_settings

from introspection import client
from introspection.errors import IntrospectionUnavailable


def response(status=200, json=None, text=None):
    reply = mock.Mock(status_code=status)
    if json is not None:
        reply.json.return_value = json
    else:
        reply.json.side_effect = ValueError(text)
    return reply


def recursion_error():
    """What json.loads raises for a document nested deeper than the recursion limit."""
    reply = mock.Mock(status_code=200)
    reply.json.side_effect = RecursionError()
    return reply


@override_settings(
    RESOURCE_SERVER_INTROSPECTION_URL="http://as.test/o/introspect/",
    RESOURCE_SERVER_AUTH_TOKEN=None,
    RESOURCE_SERVER_INTROSPECTION_CREDENTIALS=("rs id", "s:cret"),
    RESOURCE_SERVER_INTROSPECTION_TIMEOUT=2.5,
)
class IntrospectTests(SimpleTestCase):
    def setUp(self):
        patcher = mock.patch.object(client, "session")
        self.post = patcher.start().return_value.post
        self.addCleanup(patcher.stop)

    def test_sends_the_token_with_basic_credentials_form_encoded_and_a_timeout(self):
        self.post.return_value = response(json={"active": False})

        self.assertEqual(client.introspect("tok"), {"active": False})

        kwargs = self.post.call_args.kwargs
        self.assertEqual(kwargs["data"], {"token": "tok", "token_type_hint": "access_token"})
        self.assertEqual(kwargs["timeout"], 2.5)
        encoded = kwargs["headers"]["Authorization"].removeprefix("Basic ")
        self.assertEqual(base64.b64decode(encoded).decode(), "rs%20id:s%3Acret")  # RFC 6749 §2.3.1

    @override_settings(RESOURCE_SERVER_AUTH_TOKEN="rs-token", RESOURCE_SERVER_INTROSPECTION_CREDENTIALS=None)
    def test_token_mode_sends_the_bearer_token(self):
        self.post.return_value = response(json={"active": False})

        client.introspect("tok")

        self.assertEqual(self.post.call_args.kwargs["headers"]["Authorization"], "Bearer rs-token")

    def test_every_failure_of_the_as_is_unavailable(self):
        failures = [
            requests.ConnectTimeout(),
            requests.ReadTimeout(),
            requests.ConnectionError(),
            response(status=500, json={}),
            response(status=401, json={"error": "invalid_client"}),
            response(text="<html>"),
            response(json=["active"]),
            response(json={"active": "true"}),
            response(json={"scope": "read"}),
            response(json={"active": True, "exp": "tomorrow"}),
            response(json={"active": True, "sub": "s", "exp": float("inf")}),
            response(json={"active": True, "scope": "read"}),
            response(json={"active": True, "sub": "s", "aud": 7}),
            recursion_error(),
        ]
        for failure in failures:
            with self.subTest(failure=failure):
                if isinstance(failure, Exception):
                    self.post.side_effect = failure
                else:
                    self.post.side_effect, self.post.return_value = None, failure
                with self.assertRaises(IntrospectionUnavailable):
                    client.introspect("tok")
