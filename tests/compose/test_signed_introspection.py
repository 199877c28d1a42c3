"""Both APIs of the Compose stack ask the AS for signed introspection answers (RFC 9701) and get them.

In each API's container, with that API's own configuration, its introspection
client calls the AS as it does for a request (its credentials or token, through
the proxy, the Accept header it sends); the answer is a JWT signed by the AS,
addressed to the client the seed registered for that API, and the API verifies
it against the AS's keys fetched the way it fetches them. From outside, each
API accepts a fresh token: with signing required, a plain answer would be a 503.
"""

import json

import pytest
from jwcrypto.common import base64url_decode

from shared.token_introspection import CLAIM, MEDIA_TYPE, TYPE

from .containers import python_in

# Run in an API's container: its settings as its server has them, then one call of its client.
AS_THE_API_ASKS = """
import json, sys
sys.path.insert(0, "resource_server")
import django
django.setup()
from introspection import client, signed_response
from introspection.conf import introspection_settings as settings
response = client.post(sys.argv[1])
print(json.dumps({
    "signed": settings.INTROSPECTION_SIGNED,
    "client_id": settings.CLIENT_ID,
    "accept": response.request.headers["Accept"],
    "status": response.status_code,
    "content_type": response.headers.get("Content-Type"),
    "vary": response.headers.get("Vary"),
    "answer": response.text,
    "verified": signed_response.introspection_object(response),
}))
"""


def part(segment: str) -> dict:
    return json.loads(base64url_decode(segment))


@pytest.mark.parametrize(
    "service, client_id, scope",
    [("resource-server", "OAUTH_RS_CLIENT_ID", "read"), ("team-server", "OAUTH_RS_TEAM_CLIENT_ID", "team:read")],
)
def test_each_api_asks_for_a_signed_answer_and_verifies_the_one_it_gets(client, stack, service, client_id, scope):
    token = client.client_credentials_token(scope)

    result = python_in(service, AS_THE_API_ASKS, token)

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["signed"] is True
    assert seen["client_id"] == stack.secrets[client_id]
    assert seen["accept"] == MEDIA_TYPE
    assert (seen["status"], seen["content_type"]) == (200, MEDIA_TYPE)
    assert "accept" in seen["vary"].lower().replace(" ", "").split(","), seen["vary"]
    protected, payload, _ = seen["answer"].split(".")
    header, claims = part(protected), part(payload)
    assert header["typ"] == TYPE and header["alg"] == "RS256" and header["kid"]
    assert claims["iss"] == stack.auth_url
    assert claims["aud"] == stack.secrets[client_id]
    assert isinstance(claims["iat"], int)
    assert claims[CLAIM]["active"] is True and claims[CLAIM]["scope"] == scope
    assert seen["verified"] == claims[CLAIM]


def test_each_api_serves_a_fresh_token_on_a_signed_answer(client, stack, team_api):
    for scope, at in (("read", stack.resource_url), ("team:read", team_api)):
        token = client.client_credentials_token(scope)

        response = client.api("/api/me/", token, at=at)

        assert response.status_code == 200, (at, response.status_code, response.text)
        assert response.json()["scope"] == scope
