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


def render(overlay: str, work: Path) -> Rendering:
    copy = work / "kubernetes"
    shutil.copytree(MANIFESTS, copy, ignore=shutil.ignore_patterns("generated"))
    env_file = work / ".env"
    run(sys.executable, "-m", "shared.dotenv", ".env.example", str(env_file))
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
