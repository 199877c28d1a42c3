"""An overlay of deploy/kubernetes rendered as a cluster would receive it, and what the checks read from it.

The overlay is rendered from a temporary copy whose generated/ folder shared.kubernetes
fills from a freshly generated .env, as a team does with `make kubernetes-env` before
`kubectl apply -k`: a clone's own generated files and .env play no part.
"""

import base64
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .compose_interpolation import read_dotenv

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
NAMESPACE = "split-oauth2"
OVERLAYS = ("local", "production")

# What production needs set in .env: public https URLs, a managed database per server
# (with the role and password Compose's URLs use, on another host), the pushed image.
PRODUCTION_URLS = {
    "OAUTH_ISSUER": "https://auth.example.org",
    "RESOURCE_SERVER_RESOURCE": "https://api.example.org/",
    "TEAM_RESOURCE_SERVER_RESOURCE": "https://team.example.org/",
    "APP_IMAGE": "registry.example.org/split-oauth2-django:1.0.0",
}
DATABASES = {
    "AS_DATABASE_URL": ("auth_server", "AS_DB_PASSWORD"),
    "RS_DATABASE_URL": ("resource_server", "RS_DB_PASSWORD"),
    "TEAM_RS_DATABASE_URL": ("team_server", "TEAM_RS_DB_PASSWORD"),
}
DEFAULT_IMAGE = "split-oauth2-django:latest"
# The fresh .env again, with every variable Compose reads (compose.yaml, compose.production.yaml)
# set apart from its default and from the variable of the other API it could be taken for
# (TEAM_X and X), so that a value taken from a default or from the wrong name shows as a
# difference from Compose's. Production's URLs, databases and image are PRODUCTION_URLS's.
CONFIGURED = {
    "APP_IMAGE": "split-oauth2-django:configured",
    "PYTHON_IMAGE": "python:3.12-slim-bookworm",
    "POSTGRES_IMAGE": "postgres:16",
    "REDIS_IMAGE": "redis:7.4",
    "CADDY_IMAGE": "caddy:2.8",
    "PROMETHEUS_IMAGE": "prom/prometheus:v2.54.0",
    "PROMETHEUS_PORT": "19090",
    "AS_PORT": "18000",
    "RS_PORT": "18001",
    "TEAM_RS_PORT": "18002",
    "OAUTH_ISSUER": "http://login.test",
    "RESOURCE_SERVER_RESOURCE": "http://notes.test/",
    "TEAM_RESOURCE_SERVER_RESOURCE": "http://crew.test/",
    "AS_ALLOWED_HOSTS": "127.0.0.1,localhost,as.internal",
    "RS_ALLOWED_HOSTS": "127.0.0.1,localhost,rs.internal",
    "TEAM_RS_ALLOWED_HOSTS": "127.0.0.1,localhost,crew.internal",
    "AS_CSRF_TRUSTED_ORIGINS": "https://login.example.net",
    "OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS": "1800",
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": "aW5hY3RpdmUta2V5",
    "OIDC_ID_TOKEN_EXPIRE_SECONDS": "1200",
    "OAUTH_ALLOWED_REDIRECT_URI_SCHEMES": "https,com.example.app",
    "AS_LOGIN_FAILURE_LIMIT": "7",
    "AS_LOGIN_COOLOFF_MINUTES": "20",
    "HOUSEKEEPING_INTERVAL_SECONDS": "1800",
    "WEB_CONCURRENCY": "3",
    "LOG_LEVEL": "WARNING",
    "LOG_FORMAT": "text",
    "RESOURCE_SERVER_INTROSPECTION_TIMEOUT": "7",
    # No Compose variable: what a generator reading the team API's shared values by TEAM_ names would take.
    "TEAM_WEB_CONCURRENCY": "5",
    "TEAM_LOG_LEVEL": "ERROR",
    "TEAM_LOG_FORMAT": "json",
    "TEAM_RESOURCE_SERVER_INTROSPECTION_TIMEOUT": "11",
    "RS_CORS_ALLOWED_ORIGINS": "https://notes-app.example",
    "TEAM_RS_CORS_ALLOWED_ORIGINS": "https://crew-app.example",
    "RESOURCE_SERVER_SCOPES": '"read write notes archive"',
    "TEAM_RESOURCE_SERVER_SCOPES": '"crew:read crew:write crew:notes"',
    "TEAM_RESOURCE_SERVER_SCOPE_PREFIX": "crew:",
    "RESOURCE_SERVER_REQUIRE_AUDIENCE": "true",
    "TEAM_RESOURCE_SERVER_REQUIRE_AUDIENCE": "yes",
    "RESOURCE_SERVER_AUTH_TOKEN": "notes-token",
    "TEAM_RESOURCE_SERVER_AUTH_TOKEN": "crew-token",
    "RESOURCE_SERVER_INTROSPECTION_SIGNED": "false",
    "TEAM_RESOURCE_SERVER_INTROSPECTION_SIGNED": "no",
    # Apart from OAUTH_RS_CLIENT_ID and OAUTH_RS_TEAM_CLIENT_ID, compose.yaml's fallbacks.
    "RESOURCE_SERVER_CLIENT_ID": "notes-api",
    "TEAM_RESOURCE_SERVER_CLIENT_ID": "crew-api",
    "RESOURCE_SERVER_TOKEN_CACHING_SECONDS": "61",
    "TEAM_RESOURCE_SERVER_TOKEN_CACHING_SECONDS": "62",
    "RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS": "3",
    "TEAM_RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS": "4",
    "RESOURCE_SERVER_LOCAL_CACHE_SECONDS": "5",
    "TEAM_RESOURCE_SERVER_LOCAL_CACHE_SECONDS": "6",
    "DEMO_USERNAME": "alice",
    "DEMO_REDIRECT_URI": "https://127.0.0.1:9876/callback",
    "DEMO_WEB_REDIRECT_URI": "http://127.0.0.1:8004/callback/",
    "DEMO_WEB_POST_LOGOUT_REDIRECT_URI": "http://127.0.0.1:8004/",
    # make run's, which Compose never reads: it sets the caches and the events endpoints itself.
    "RS_CACHE_URL": "redis://127.0.0.1:6379/0",
    "TEAM_RS_CACHE_URL": "redis://127.0.0.1:6379/1",
    "RESOURCE_SERVER_EVENTS_ENDPOINT": "http://127.0.0.1:18001/events/",
    "TEAM_RESOURCE_SERVER_EVENTS_ENDPOINT": "http://127.0.0.1:18002/events/",
}
DOTENVS = ("fresh", "configured")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet", "ReplicaSet", "Pod")


def run(*command: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}{done.stdout}"
    return done.stdout


def set_variables(path: Path, values: dict[str, str]) -> None:
    """Set NAME=value in a .env: the line that assigns it, else a new line at the end."""
    lines = path.read_text().splitlines()
    for name, value in values.items():
        at = next((i for i, line in enumerate(lines) if line.startswith(f"{name}=")), None)
        if at is None:
            lines.append(f"{name}={value}")
        else:
            lines[at] = f"{name}={value}"
    path.write_text("".join(f"{line}\n" for line in lines))


@dataclass
class Pod:
    """A pod template: the workload it belongs to, its labels, its spec."""

    workload: dict
    spec: dict
    labels: dict

    @property
    def name(self) -> str:
        return self.workload["metadata"]["name"]

    @property
    def kind(self) -> str:
        return self.workload["kind"]

    @property
    def namespace(self) -> str:
        return self.workload["metadata"].get("namespace", "default")

    def containers(self, init: bool = True) -> list[dict]:
        return list(self.spec.get("containers", [])) + (list(self.spec.get("initContainers", [])) if init else [])

    def container(self) -> dict:
        """The pod's one (main) container."""
        (only,) = self.spec["containers"]
        return only


@dataclass
class Rendering:
    overlay: str
    folder: Path
    env_file: Path
    env: dict[str, str]
    objects: list[dict]
    generated: Path
    pods: dict[str, Pod] = field(default_factory=dict)

    def __post_init__(self):
        for obj in self.objects:
            template = pod_template(obj)
            if template is not None:
                self.pods[obj["metadata"]["name"]] = Pod(
                    obj, template.get("spec", {}), template.get("metadata", {}).get("labels", {})
                )

    def of_kind(self, kind: str) -> list[dict]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def named(self, kind: str, name: str) -> dict:
        found = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.overlay}: expected one {kind} {name}, found {len(found)}"
        return found[0]

    def resolve(self, entry: dict, where: str) -> str:
        """One env entry's value, as the kubelet would give it to the process."""
        if "value" in entry:
            return entry["value"]
        source = entry.get("valueFrom", {})
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            data = self.named("ConfigMap", ref["name"]).get("data", {})
            assert ref["key"] in data, f"{where}: {entry['name']} names key {ref['key']} missing from {ref['name']}"
            return data[ref["key"]]
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            secret = self.named("Secret", ref["name"])
            if ref["key"] in secret.get("stringData", {}):
                return secret["stringData"][ref["key"]]
            data = secret.get("data", {})
            assert ref["key"] in data, f"{where}: {entry['name']} names key {ref['key']} missing from {ref['name']}"
            return base64.b64decode(data[ref["key"]]).decode()
        if not source:
            return ""
        raise AssertionError(f"{where}: {entry['name']} comes from {sorted(source)}, not a ConfigMap or Secret")

    def environment(self, container: dict, where: str) -> dict[str, str]:
        names = [entry["name"] for entry in container.get("env", [])]
        assert len(names) == len(set(names)), f"{where}: a variable is listed twice: {names}"
        return {entry["name"]: self.resolve(entry, where) for entry in container.get("env", [])}


def pod_template(obj: dict) -> dict | None:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]
    if obj["kind"] == "Pod":
        return {"metadata": obj["metadata"], "spec": obj["spec"]}
    if obj["kind"] in WORKLOAD_KINDS:
        return obj["spec"]["template"]
    return None


def render(overlay: str, work: Path, dotenv: str = "fresh") -> Rendering:
    """The overlay rendered from a fresh .env, or (``configured``) one with CONFIGURED's values too."""
    copy = work / "kubernetes"
    shutil.copytree(MANIFESTS, copy, ignore=shutil.ignore_patterns("generated"))
    env_file = work / ".env"
    run(sys.executable, "-m", "shared.dotenv", ".env.example", str(env_file))
    if dotenv == "configured":
        set_variables(env_file, CONFIGURED)
    if overlay == "production":
        fresh = read_dotenv(env_file.read_text())
        managed = {
            name: f"postgres://{role}:{fresh[password]}@{role.replace('_', '-')}.db.example.org:5432/{role}"
            for name, (role, password) in DATABASES.items()
        }
        set_variables(env_file, {**PRODUCTION_URLS, **managed})
    generated = copy / "overlays" / overlay / "generated"
    # The virtual environment's Python, as make kubernetes-env runs it.
    run(sys.executable, "-m", "shared.kubernetes", overlay, str(env_file), "--output", str(generated))
    output = run("kubectl", "kustomize", str(copy / "overlays" / overlay))
    objects = [obj for obj in yaml.safe_load_all(output) if obj]
    return Rendering(overlay, copy, env_file, read_dotenv(env_file.read_text()), objects, generated)
