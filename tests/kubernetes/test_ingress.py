"""The Ingress routes each public host to its server, with TLS for every host it routes."""

from urllib.parse import urlsplit

from .rendering import PRODUCTION_URLS

LOCAL_HOSTS = {"auth.localhost": "auth-server", "api.localhost": "resource-server", "team.localhost": "team-server"}


def expected_routes(overlay: str) -> dict[str, str]:
    if overlay == "local":
        return LOCAL_HOSTS
    names = ("OAUTH_ISSUER", "RESOURCE_SERVER_RESOURCE", "TEAM_RESOURCE_SERVER_RESOURCE")
    services = ("auth-server", "resource-server", "team-server")
    return {urlsplit(PRODUCTION_URLS[name]).hostname: service for name, service in zip(names, services, strict=True)}


def test_ingress(rendering):
    (ingress,) = rendering.of_kind("Ingress")
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    assert ingress["metadata"]["name"] == "split-oauth2"
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    routes = {}
    for rule in spec["rules"]:
        for path in rule["http"]["paths"]:
            assert path["path"] == "/" and path["pathType"] == "Prefix", path
            routes[rule["host"]] = (path["backend"]["service"]["name"], path["backend"]["service"]["port"])
    assert routes == {host: (service, {"number": 8000}) for host, service in expected_routes(rendering.overlay).items()}
    tls_hosts = {host for tls in spec.get("tls", []) for host in tls["hosts"]}
    assert tls_hosts >= set(routes), f"{rendering.overlay}: no TLS for {sorted(set(routes) - tls_hosts)}"
    for tls in spec["tls"]:
        assert tls.get("secretName"), tls
    if rendering.overlay == "production":
        annotations = ingress["metadata"].get("annotations", {})
        assert any(key.startswith("cert-manager.io/") for key in annotations), annotations
