"""Each container's environment equals its Compose service's, variable for variable, apart from host names."""

import re
from urllib.parse import urlsplit, urlunsplit

import pytest

from shared.kubernetes import compose_defaults

from .compose_environment import service_environment
from .rendering import DOTENVS, OVERLAYS, ROOT

# Kubernetes workload -> the Compose service whose environment it gets.
COMPOSE_SERVICE = {
    "auth-server": "auth-server",
    "auth-migrate": "auth-server",
    "auth-seed": "auth-migrate",
    "auth-housekeeping": "auth-housekeeping",
    "resource-server": "resource-server",
    "resource-migrate": "resource-migrate",
    "team-server": "team-server",
    "team-migrate": "team-migrate",
}
# auth-seed's initContainer only waits for auth-migrate's work (manage.py showmigrations --plan):
# it gets the migration's environment, as the auth-migrate Job does.
INIT_COMPOSE_SERVICE = {"auth-seed": "auth-server"}
# compose.production.yaml overrides only what the serving services use (HTTPS, the issuer's
# origins, introspection through the proxy): the one-shot and periodic services keep
# compose.yaml's plain-HTTP values, which they never use. In a cluster a Job reads its
# server's ConfigMap, so it runs under the settings its server runs under.
PRODUCTION_SERVER_OF = {
    "auth-seed": "auth-server",
    "auth-housekeeping": "auth-server",
    "resource-migrate": "resource-server",
    "team-migrate": "team-server",
}
# Compose's production profile trusts its proxy's local CA; a cluster's Ingress has a real certificate.
COMPOSE_ONLY = {"production": {"REQUESTS_CA_BUNDLE"}, "local": set()}
# Compose's auth-housekeeping loops (housekeeping --every reads its interval); the CronJob runs
# housekeeping once per schedule, which is the interval, so it has no such variable to read.
LOOP_ONLY = {"auth-housekeeping": {"HOUSEKEEPING_INTERVAL_SECONDS"}}
HOST = "<host>"
URL = re.compile(r"^[a-z][a-z0-9+.-]*://")


def without_host(url: str) -> str:
    """The URL with its host and port replaced; user, password, path and query kept."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{HOST}" if userinfo else HOST))


def comparable(name: str, value: str) -> str:
    """The value with host names replaced; a comma-separated list of hosts or URLs as the set of its items.

    Each side lists the names it is reached by (Compose: 127.0.0.1, localhost, proxy; a cluster:
    the Service's and the Ingress's), so a list is equal apart from host names when its items are,
    however many names it has; test_allowed_hosts checks which names a server allows.
    """
    items = value.split(",")
    if name.endswith("_ALLOWED_HOSTS") and all(items):
        return HOST
    if len(items) > 1 and all(URL.match(item) for item in items):
        return ",".join(sorted({without_host(item) for item in items}))
    return without_host(value) if URL.match(value) else value


def compose_files(overlay: str) -> list:
    files = [ROOT / "compose.yaml"]
    if overlay == "production":
        files.append(ROOT / "compose.production.yaml")
    return files


COMPOSE_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)")


@pytest.fixture(params=[(overlay, dotenv) for overlay in OVERLAYS for dotenv in DOTENVS], ids="-".join)
def any_rendering(request, renderings):
    """Each overlay from a fresh .env, and from one setting every variable Compose reads (rendering.CONFIGURED)."""
    return renderings(*request.param)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_configured_dotenv_sets_every_variable_compose_reads(renderings, overlay):
    """Else a generator that takes compose.yaml's default, or another variable's value, could still pass."""
    rendering = renderings(overlay, "configured")
    text = "".join(path.read_text() for path in compose_files("production"))
    defaults = compose_defaults(text)
    names = set(COMPOSE_VARIABLE.findall(text))
    unset = sorted(name for name in names if not rendering.env.get(name))
    assert not unset, f"{overlay}: the configured .env leaves these empty: {unset}"
    default = sorted(name for name in names if name in defaults and rendering.env[name] == defaults[name])
    assert not default, f"{overlay}: the configured .env sets these to compose.yaml's default: {default}"
    alike = sorted(
        name
        for name in names
        if f"TEAM_{name}" in rendering.env and rendering.env[name] == rendering.env[f"TEAM_{name}"]
    )
    assert not alike, f"{overlay}: the configured .env gives these and their TEAM_ twin one value: {alike}"


@pytest.mark.parametrize("workload", sorted(COMPOSE_SERVICE))
def test_environment_equals_compose(any_rendering, workload):
    rendering = any_rendering
    pod = rendering.pods[workload]
    initial = {container["name"] for container in pod.spec.get("initContainers", [])}
    for container in pod.containers():
        where = f"{rendering.overlay}: {workload}/{container['name']}"
        kubernetes = rendering.environment(container, where)
        service = COMPOSE_SERVICE[workload]
        if container["name"] in initial:
            service = INIT_COMPOSE_SERVICE.get(workload, service)
        compose = service_environment(compose_files(rendering.overlay), service, rendering.env)
        if rendering.overlay == "production" and workload in PRODUCTION_SERVER_OF:
            server = service_environment(
                [ROOT / "compose.production.yaml"], PRODUCTION_SERVER_OF[workload], rendering.env
            )
            compose.update({name: value for name, value in server.items() if name in compose})
        for name in COMPOSE_ONLY[rendering.overlay] | LOOP_ONLY.get(workload, set()):
            compose.pop(name, None)
        assert sorted(set(kubernetes) - set(compose)) == [], f"{where}: not in Compose's {service}"
        assert sorted(set(compose) - set(kubernetes)) == [], f"{where}: missing, Compose's {service} has them"
        differ = {
            name: {"kubernetes": kubernetes[name], "compose": compose[name]}
            for name in sorted(compose)
            if comparable(name, kubernetes[name]) != comparable(name, compose[name])
        }
        assert not differ, f"{where}: {differ}"


@pytest.mark.parametrize("server", ["auth-server", "resource-server", "team-server"])
def test_https(rendering, server):
    environment = rendering.environment(rendering.pods[server].container(), server)
    assert environment["DJANGO_HTTPS"] == ("true" if rendering.overlay == "production" else "false")


ALLOWED_HOSTS = {
    "auth-server": ("AS_ALLOWED_HOSTS", "AS_ALLOWED_HOSTS", "OAUTH_ISSUER"),
    "resource-server": ("RS_ALLOWED_HOSTS", "RS_ALLOWED_HOSTS", "RESOURCE_SERVER_RESOURCE"),
    "team-server": ("RS_ALLOWED_HOSTS", "TEAM_RS_ALLOWED_HOSTS", "TEAM_RESOURCE_SERVER_RESOURCE"),
}


@pytest.mark.parametrize("server", sorted(ALLOWED_HOSTS))
def test_allowed_hosts(rendering, server):
    """.env's hosts, the Service's name (probes, in-cluster callers) and the public host the Ingress routes."""
    variable, dotenv_name, public = ALLOWED_HOSTS[server]
    environment = rendering.environment(rendering.pods[server].container(), server)
    hosts = environment[variable].split(",")
    routed = {rule["host"] for ingress in rendering.of_kind("Ingress") for rule in ingress["spec"]["rules"]}
    public_host = urlsplit(environment.get(public) or compose_public(rendering, server, public)).hostname
    assert public_host in routed, f"{server}: {public_host} is not routed by the Ingress: {sorted(routed)}"
    expected = {*rendering.env[dotenv_name].split(","), server, public_host}
    assert set(hosts) == expected, f"{rendering.overlay}: {server}'s {variable} {hosts}"


def compose_public(rendering, server: str, name: str) -> str:
    """The public URL as the AS's own environment has it (an API's is in the seed's)."""
    seed = rendering.environment(rendering.pods["auth-seed"].container(), "auth-seed")
    return seed[name] if server != "auth-server" else ""


def test_host_names_compared_away():
    assert comparable("RS_ALLOWED_HOSTS", "127.0.0.1,localhost,proxy") == "<host>"
    assert (
        comparable("RS_CACHE_URL", "redis://:pw@resource-redis:6379/0")
        == comparable("RS_CACHE_URL", "redis://:pw@redis:6379/0")
        == "redis://:pw@<host>/0"
    )
    assert comparable("X", "https://proxy:8000/o/introspect/") == "https://<host>/o/introspect/"
    assert comparable("X", "https://a:1,https://b") == comparable("X", "https://c") == "https://<host>"
    assert comparable("X", "https://a,http://b") == "http://<host>,https://<host>"
    assert comparable("RS_CACHE_URL", "redis://:pw@redis:6379/0") != comparable("X", "redis://:other@redis:6379/0")
    assert comparable("RESOURCE_SERVER_SCOPES", "read write") == "read write"
