"""Write a Kubernetes overlay's env files from ``.env`` (deploy/kubernetes, docs/kubernetes.md).

    python3 -m shared.kubernetes local|production [.env] [--output DIR]

(with the project's dependencies, which shared.settings imports: make kubernetes-env
runs it with .venv's python).

Kustomize reads no file above its overlay's folder, so the ConfigMaps and Secrets
of deploy/kubernetes/overlays/OVERLAY are generated from files this writes into the
overlay's git-ignored ``generated/`` folder (the default DIR), one ``NAME=value`` a
line, each value on one line (the OpenID Connect key already is: shared.dotenv):

    auth.env, auth.secret.env            the AS's variables and its seed's
    resource.env, resource.secret.env    the first API's (RS_*, RESOURCE_SERVER_*)
    team.env, team.secret.env            the team API's TEAM_* without TEAM_, as shared.serve gives them,
                                         and what compose.yaml gives both APIs (SHARED_API_VARIABLES)
    deployment.env                       the Ingress's host names and the app image (not applied)
    redis.conf                           both Redis servers' password, nothing kept on disk
    postgres.secret.env, 10-databases.sh the local overlay's PostgreSQL (its passwords, its init script)

Who sees which variable is shared.settings.AUDIENCES; which are secrets,
shared.dotenv's; the defaults of what .env leaves empty, compose.yaml's own
``${NAME:-default}``, so a ConfigMap holds what Compose gives the same service. What
Compose derives (database and cache URLs, allowed hosts, the URLs the servers call
each other by) is derived here the same way, with the cluster's Service names.
"""

import argparse
import ipaddress
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

from shared.dotenv import CLIENT_IDS, CREDENTIALS, GENERATED, INACTIVE_SIGNING_KEYS
from shared.settings import audience_of, dotenv_values

ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = ("local", "production")
COMPOSE_FILE = ROOT / "compose.yaml"
INITDB_SCRIPT = ROOT / "compose" / "postgres" / "initdb.d" / "10-databases.sh"
# ${NAME:-default} with a default that is no other variable, and ${NAME:?message}: what compose.yaml requires.
COMPOSE_DEFAULT = re.compile(r"\$\{([A-Z0-9_]+):-([^${}]*)\}")
COMPOSE_REQUIRED = re.compile(r"\$\{([A-Z0-9_]+):\?")
# A line django-environ's read_env takes (shared.settings.dotenv_values), and an unquoted
# value's comment as Compose finds it: a # after a space (Compose docs, "Interpolation",
# .env file syntax).
ASSIGNMENT = re.compile(r"\A(?:export )?([A-Za-z_0-9]+)=(.*)\Z")
INLINE_COMMENT = re.compile(r"\s#")
# The team API's variables are the first API's with this in front (shared.serve).
TEAM = "TEAM_"
# compose.yaml's x-api-environment: what both APIs read from .env under these very names,
# so the team API's are .env's un-prefixed values, as Compose gives them (a TEAM_ one is unused).
SHARED_API_VARIABLES = ("RESOURCE_SERVER_INTROSPECTION_TIMEOUT", "WEB_CONCURRENCY", "LOG_LEVEL", "LOG_FORMAT")
# What only the local overlay's PostgreSQL needs: production's databases are managed elsewhere.
POSTGRES_PASSWORDS = ("POSTGRES_PASSWORD", "AS_DB_PASSWORD", "RS_DB_PASSWORD", "TEAM_RS_DB_PASSWORD")
# The in-cluster names (deploy/kubernetes): the Services, and the hosts of a local cluster's Ingress.
SERVICES = {"auth": "auth-server", "resource": "resource-server", "team": "team-server"}
LOCAL_URLS = {
    "OAUTH_ISSUER": "http://auth.localhost",
    "RESOURCE_SERVER_RESOURCE": "http://api.localhost/",
    "TEAM_RESOURCE_SERVER_RESOURCE": "http://team.localhost/",
}
# What the manifests set as literal values, as compose.yaml does whatever .env says (AS_TRUSTED_PROXY_COUNT:
# the Ingress controller appends the caller's address to X-Forwarded-For, as Compose's proxy does).
LITERALS = ("AS_TRUSTED_PROXY_COUNT", "FORWARDED_ALLOW_IPS", "GUNICORN_METRICS_BIND", "RS_NAME")
ISSUER = "OAUTH_ISSUER"
HOSTS = {"OAUTH_ISSUER": "AS_HOST", "RESOURCE_SERVER_RESOURCE": "RS_HOST", "TEAM_RESOURCE_SERVER_RESOURCE": "TEAM_HOST"}
DATABASES = {
    "auth": ("AS_DATABASE_URL", "auth_server", "AS_DB_PASSWORD"),
    "resource": ("RS_DATABASE_URL", "resource_server", "RS_DB_PASSWORD"),
    "team": ("TEAM_RS_DATABASE_URL", "team_server", "TEAM_RS_DB_PASSWORD"),
}
# The same Redis database numbers as compose.yaml's one Redis, though each API has its own here.
CACHES = {"resource": ("resource-redis", 0), "team": ("team-redis", 1)}
# Each API's events endpoint follows its public URL (production).
EVENTS_ENDPOINTS = {"resource": "RESOURCE_SERVER_RESOURCE", "team": "TEAM_RESOURCE_SERVER_RESOURCE"}


class Refused(ValueError):
    """A value the overlay cannot be made from: one line naming the variable."""


def is_secret(name: str) -> bool:
    """Whether the variable ``name`` (as .env names it, or as the team API reads it) goes in a Secret."""
    return any(
        candidate in GENERATED
        or candidate in CREDENTIALS
        or candidate == INACTIVE_SIGNING_KEYS
        or candidate.endswith(("_AUTH_TOKEN", "_DATABASE_URL", "_CACHE_URL"))
        for candidate in (name, f"{TEAM}{name}")
    )


def compose_defaults(text: str) -> dict[str, str]:
    return {name: default for name, default in COMPOSE_DEFAULT.findall(text)}


def compose_required(text: str) -> set[str]:
    return set(COMPOSE_REQUIRED.findall(text))


def read_dotenv(path: Path) -> dict[str, str]:
    """.env's values as the servers read them (shared.settings.dotenv_values, django-environ).

    Compose reads the same file: where the two read a line apart, the cluster would run on a
    value neither ``make run`` nor Compose has, so such a line is refused, naming its variable.
    """
    values = dotenv_values(path)
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assignment = ASSIGNMENT.match(line)
        if assignment is None:
            name = line.partition("=")[0].strip().removeprefix("export ").strip() or f"line {number}"
            raise Refused(f"{name}: line {number} of {path} is no NAME=value (the servers skip it, Compose does not).")
        name, raw = assignment.groups()
        quote = raw[:1] if raw[:1] in ("'", '"') else ""
        if quote and (len(raw) < 2 or not raw.endswith(quote)):
            raise Refused(
                f"{name} has text after its closing quote: Compose drops a comment there, the servers keep it."
            )
        if not quote and INLINE_COMMENT.search(raw):
            raise Refused(f"{name} has a comment after its value: Compose drops it, the servers keep it; move it up.")
        if not quote and raw != raw.strip():
            raise Refused(f"{name} has spaces around its value: Compose drops them, the servers keep them.")
        if quote == '"' and "\\" in raw:
            raise Refused(f"{name} has a backslash in double quotes: Compose and the servers read escapes apart.")
        if "$" in raw:
            raise Refused(f"{name} holds a $: Compose reads $NAME and ${{NAME}} as a variable, the servers do not.")
    return values


def public_url(name: str, url: str, overlay: str) -> str:
    """``url``, the value of ``name``, checked against what the Ingress serves.

    An Ingress rule's host is a DNS name; each rule sends ``/`` of its host to one
    Service, unchanged (no rewrite), on the controller's own ports; production is https.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        is_address = True
    except ValueError:
        is_address = False
    if parts.scheme not in ("http", "https") or not host or is_address:
        raise Refused(f"{name} must be a URL with a host name (an Ingress rule's host is no address), not {url!r}.")
    if overlay == "production" and parts.scheme != "https":
        raise Refused(f"{name} must be an https URL in production (the Ingress terminates TLS), not {url!r}.")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if overlay == "production" and port is not None:
        raise Refused(f"{name} must name no port in production (the Ingress listens on 443 only), not {url!r}.")
    # The AS answers at its root (/o/introspect/, /.well-known/...): under a path, the
    # Ingress would pass that path on and every URL derived from the issuer would miss.
    if name == ISSUER and parts.path not in ("", "/"):
        raise Refused(f"{name} must have no path (the Ingress sends its host's / to the AS as is), not {url!r}.")
    return url


def distinct_hosts(urls: dict[str, str]) -> None:
    """Refuse two public URLs on one host: the Ingress routes by host, each host's / to one Service."""
    seen: dict[str, str] = {}
    for name, url in urls.items():
        host = (urlsplit(url).hostname or "").lower()
        if host in seen:
            raise Refused(f"{name} and {seen[host]} share the host {host}: the Ingress routes each host to one server.")
        seen[host] = name


def joined(*hosts: str) -> str:
    """Comma-separated host names, each once, in order."""
    names = [name.strip() for hosts_value in hosts for name in hosts_value.split(",") if name.strip()]
    return ",".join(dict.fromkeys(names))


def audience_values(values: dict[str, str], defaults: dict[str, str], audiences: set[str]) -> dict[str, str]:
    """Each variable of .env or compose.yaml's defaults one of ``audiences`` sees: .env's value, else the default."""
    # The database passwords are PostgreSQL's (postgres-secrets): a server gets its URL.
    names = [
        name
        for name in {**defaults, **values}
        if audience_of(name) & audiences and name not in POSTGRES_PASSWORDS and name.removeprefix(TEAM) not in LITERALS
    ]
    return {name: values.get(name) or defaults.get(name, "") for name in sorted(names)}


def environments(overlay: str, values: dict[str, str], compose_text: str) -> dict[str, dict[str, str]]:
    """Each generated file's variables (``*.env`` files only), derived for ``overlay``. Raises Refused."""
    if overlay not in OVERLAYS:
        raise Refused(f"the overlay must be one of {', '.join(OVERLAYS)}, not {overlay!r}.")
    production = overlay == "production"
    defaults = compose_defaults(compose_text)
    required = compose_required(compose_text) - (set(POSTGRES_PASSWORDS) if production else set())
    for name in sorted(required):
        if not values.get(name):
            raise Refused(f"{name} is empty or not set in .env: compose.yaml requires it too (make env writes it).")

    def value(name: str) -> str:
        return values.get(name) or defaults.get(name, "")

    urls = {}
    for name, local in LOCAL_URLS.items():
        if production and not values.get(name):
            raise Refused(f"{name} is empty: production needs the public https URL its Ingress rule serves.")
        urls[name] = public_url(name, values.get(name) or local, overlay)
    distinct_hosts(urls)
    issuer = urls["OAUTH_ISSUER"].rstrip("/")
    hosts = {HOSTS[name]: urlsplit(url).hostname for name, url in urls.items()}

    databases = {}
    for server, (url_name, database, password) in DATABASES.items():
        if production:
            if not values.get(url_name):
                raise Refused(f"{url_name} is empty: production needs the URL of a managed PostgreSQL database.")
            databases[server] = values[url_name]
        else:
            databases[server] = f"postgres://{database}:{quote(values[password], safe='')}@postgres:5432/{database}"
    # Each API's own Redis in the cluster, as compose.yaml always gives it its Redis: .env's
    # RS_CACHE_URL and TEAM_RS_CACHE_URL are make run's, which Compose never reads.
    caches = {
        server: f"redis://:{quote(values['REDIS_PASSWORD'], safe='')}@{host}:6379/{number}"
        for server, (host, number) in CACHES.items()
    }
    # Where the AS pushes its notices, as compose.yaml and compose.production.yaml always set
    # them: .env's are make run's (127.0.0.1), which Compose never reads.
    events = {}
    for server, resource in EVENTS_ENDPOINTS.items():
        if production:
            # Through the Ingress: the API's origin, the path its server answers notices at.
            parts = urlsplit(urls[resource])
            events[server] = f"{parts.scheme}://{parts.netloc}/security-events/"
        else:
            # Straight to the API's Service, as compose.yaml's http://resource-server:8000/.
            events[server] = f"http://{SERVICES[server]}:8000/security-events/"
    # Direct to the AS's Service locally, as Compose's plain-HTTP proxy; in production through the
    # Ingress over TLS, as compose.production.yaml goes through its proxy over https.
    introspection = f"{issuer}/o/introspect/" if production else f"http://{SERVICES['auth']}:8000/o/introspect/"
    https = "true" if production else "false"

    auth = audience_values(values, defaults, {"auth_server", "seed"})
    auth.update(
        {
            "OAUTH_ISSUER": issuer,
            "AS_DATABASE_URL": databases["auth"],
            # The Ingress's host, and the Service's name: the probes' Host, and the APIs' introspection calls.
            "AS_ALLOWED_HOSTS": joined(value("AS_ALLOWED_HOSTS"), hosts["AS_HOST"], SERVICES["auth"]),
            # The origin the login and consent forms are posted from, as compose.production.yaml sets it.
            "AS_CSRF_TRUSTED_ORIGINS": value("AS_CSRF_TRUSTED_ORIGINS") or (issuer if production else ""),
            "DJANGO_HTTPS": https,
            # What the seed registers: each API's identifier and where the AS pushes its notices (RFC 8935).
            "RESOURCE_SERVER_RESOURCE": urls["RESOURCE_SERVER_RESOURCE"],
            "TEAM_RESOURCE_SERVER_RESOURCE": urls["TEAM_RESOURCE_SERVER_RESOURCE"],
            "RESOURCE_SERVER_EVENTS_ENDPOINT": events["resource"],
            "TEAM_RESOURCE_SERVER_EVENTS_ENDPOINT": events["team"],
        }
    )

    def api(server: str, own: dict[str, str], prefix: str) -> dict[str, str]:
        client_id = f"{prefix}RESOURCE_SERVER_CLIENT_ID"
        public_host = hosts[HOSTS[f"{prefix}RESOURCE_SERVER_RESOURCE"]]
        own.update(
            {
                "DJANGO_HTTPS": https,
                "RS_DATABASE_URL": databases[server],
                "RS_CACHE_URL": caches[server],
                # The AS pushes its revocation notices to the Service's name (local overlay).
                "RS_ALLOWED_HOSTS": joined(value(f"{prefix}RS_ALLOWED_HOSTS"), public_host, SERVICES[server]),
                "RESOURCE_SERVER_RESOURCE": urls[f"{prefix}RESOURCE_SERVER_RESOURCE"],
                "RESOURCE_SERVER_INTROSPECTION_URL": introspection,
                "RESOURCE_SERVER_AUTHORIZATION_SERVERS": issuer,
                # compose.yaml: .env's, else the client the seed registers for this API.
                "RESOURCE_SERVER_CLIENT_ID": values.get(client_id) or values.get(CLIENT_IDS[client_id][1], ""),
            }
        )
        return own

    resource = api("resource", audience_values(values, defaults, {"resource_server"}), "")
    # The team API: its TEAM_ variables without the prefix (shared.serve), but for what
    # compose.yaml's x-api-environment gives both APIs from the same .env names; what
    # neither sets is the first API's compose.yaml default.
    team_own = audience_values(values, defaults, {"team"})
    team = {name: item for name, item in team_own.items() if not name.startswith(TEAM)}
    team.update({name.removeprefix(TEAM): item for name, item in team_own.items() if name.startswith(TEAM)})
    team.update({name: value(name) for name in SHARED_API_VARIABLES})
    for name, default in defaults.items():
        if "resource_server" in audience_of(name):
            team.setdefault(name, default)
    team = api("team", team, TEAM)

    files = {}
    for stem, variables in (("auth", auth), ("resource", resource), ("team", team)):
        files[f"{stem}.env"] = {name: item for name, item in variables.items() if not is_secret(name)}
        files[f"{stem}.secret.env"] = {name: item for name, item in variables.items() if is_secret(name)}
    if production and not values.get("APP_IMAGE"):
        raise Refused("APP_IMAGE is empty or not set: production needs the image pushed to the cluster's registry.")
    files["deployment.env"] = {**hosts, "APP_IMAGE": value("APP_IMAGE")}
    if not production:
        files["postgres.secret.env"] = {name: values[name] for name in POSTGRES_PASSWORDS}
    for name, variables in files.items():
        for variable, item in variables.items():
            if "\n" in item or "\r" in item:
                raise Refused(f"{variable} has a line break: an env file holds one line a value ({name}).")
    return files


def redis_conf(values: dict[str, str]) -> str:
    """compose.yaml's redis-conf: the password, and nothing kept on disk (a cache)."""
    return f'requirepass {values["REDIS_PASSWORD"]}\nsave ""\nappendonly no\n'


def write(overlay: str, dotenv: Path, output: Path) -> list[Path]:
    values = read_dotenv(dotenv)
    files = environments(overlay, values, COMPOSE_FILE.read_text())
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name, variables in files.items():
        path = output / name
        secret = name.endswith(".secret.env")
        write_private(path, "".join(f"{variable}={item}\n" for variable, item in variables.items()), secret)
        written.append(path)
    write_private(output / "redis.conf", redis_conf(values), secret=True)
    written.append(output / "redis.conf")
    if overlay == "local":
        shutil.copyfile(INITDB_SCRIPT, output / INITDB_SCRIPT.name)
        written.append(output / INITDB_SCRIPT.name)
    return written


def write_private(path: Path, content: str, secret: bool) -> None:
    """``content`` into ``path``; a file holding secrets readable by its owner alone, as .env."""
    path.unlink(missing_ok=True)  # never write through a link, nor keep a laxer mode
    path.touch(mode=0o600 if secret else 0o644)
    path.write_text(content)


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m shared.kubernetes", description=__doc__.splitlines()[0])
    parser.add_argument("overlay", choices=OVERLAYS)
    parser.add_argument("env_file", nargs="?", default=".env", type=Path)
    parser.add_argument("--output", type=Path, help="default: deploy/kubernetes/overlays/OVERLAY/generated")
    options = parser.parse_args(arguments)
    output = options.output or ROOT / "deploy" / "kubernetes" / "overlays" / options.overlay / "generated"
    if not options.env_file.is_file():
        print(f"shared.kubernetes: {options.env_file} does not exist: make env writes it.", file=sys.stderr)
        return 1
    try:
        written = write(options.overlay, options.env_file, output)
    except Refused as error:
        print(f"shared.kubernetes: {error}", file=sys.stderr)
        return 1
    print(f"wrote {', '.join(path.name for path in written)} in {output}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
