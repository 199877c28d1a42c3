"""One issuer, whoever asks: a browser on the published port, an API by the proxy's service name.

Compose pins OAUTH_ISSUER to the published URL (http://127.0.0.1:$AS_PORT, or https
in the production profile) unless .env sets it. The same ``iss`` must come back
from OpenID Connect discovery, RFC 8414 metadata, an ID token and an
introspection answer, fetched through the published port and from inside the
resource server's container, where the AS is ``proxy:8000``.
"""

import json

import pytest
import requests

from ..oauth import Client
from ..test_openid_connect import RelyingParty
from .containers import python_in

# Run in the resource server's container, with its own configuration: the AS's
# origin from RESOURCE_SERVER_INTROSPECTION_URL, its introspection credentials or
# token, and (production profile) the CA its REQUESTS_CA_BUNDLE names.
FROM_THE_API = """
import json, os, sys
from urllib.parse import urlsplit
import requests
introspection_url = os.environ["RESOURCE_SERVER_INTROSPECTION_URL"]
origin = "{0.scheme}://{0.netloc}".format(urlsplit(introspection_url))
documents = {
    name: requests.get(origin + path, timeout=10).json()["issuer"]
    for name, path in (
        ("discovery", "/.well-known/openid-configuration"),
        ("metadata", "/.well-known/oauth-authorization-server"),
    )
}
credentials = os.environ.get("RESOURCE_SERVER_INTROSPECTION_CREDENTIALS")
if credentials:
    kwargs = {"auth": tuple(credentials.split(":", 1))}
else:
    kwargs = {"headers": {"Authorization": "Bearer " + os.environ["RESOURCE_SERVER_AUTH_TOKEN"]}}
answer = requests.post(introspection_url, data={"token": sys.argv[1]}, timeout=10, **kwargs).json()
print(json.dumps({"origin": origin, "introspection": answer.get("iss"), "active": answer["active"], **documents}))
"""


@pytest.fixture(autouse=True)
def plain_http_on_loopback(stack, monkeypatch):
    # Authlib refuses token requests over http unless told; the base profile has no TLS.
    if stack.auth_url.startswith("http://"):
        monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


def test_discovery_metadata_id_tokens_and_introspection_name_one_issuer_from_outside_and_inside(stack):
    issuer = stack.auth_url  # the published URL, as the browser uses it
    discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    metadata = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
    assert discovery["issuer"] == metadata["issuer"] == issuer

    demo = {"username": stack.secrets["DEMO_USERNAME"], "password": stack.secrets["DEMO_PASSWORD"]}
    rp = RelyingParty(stack, discovery, stack.secrets)
    tokens = rp.tokens(demo)
    assert rp.verify(tokens["id_token"]).claims["iss"] == issuer
    outside = Client(stack).introspect(tokens["access_token"]).json()
    assert outside["active"] is True and outside["iss"] == issuer

    result = python_in("resource-server", FROM_THE_API, tokens["access_token"])
    assert result.returncode == 0, result.stderr
    inside = json.loads(result.stdout)
    assert inside["origin"] != issuer  # another name for the same AS: the proxy's
    assert inside["active"] is True
    assert inside["discovery"] == inside["metadata"] == inside["introspection"] == issuer


def test_the_resource_servers_name_the_same_issuer_in_their_metadata(stack, team_api):
    # RFC 9728: each API's protected resource metadata names its authorization server.
    for url in (stack.resource_url, team_api):
        metadata = requests.get(f"{url}/.well-known/oauth-protected-resource", timeout=10)
        assert metadata.status_code == 200, url
        assert metadata.json()["authorization_servers"] == [stack.auth_url], url
