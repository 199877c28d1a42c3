"""No secret value is committed: Secrets come only from the generated, git-ignored files."""

import base64

import yaml

from .compose_interpolation import read_dotenv
from .rendering import PRODUCTION_URLS, ROOT, run


def committed_manifests() -> list[str]:
    return run("git", "ls-files", "--", "deploy/kubernetes").split()


def generated_secrets(rendering) -> dict[str, str]:
    """The values .env's generation wrote (empty in .env.example, set in the fresh .env), bar client ids.

    Production's managed database URLs hold a password too.
    """
    template = read_dotenv((ROOT / ".env.example").read_text())
    return {
        name: value
        for name, value in rendering.env.items()
        if value and not template.get(name) and not name.endswith("_CLIENT_ID") and name not in PRODUCTION_URLS
    }


def test_nothing_generated_is_committed():
    files = committed_manifests()
    assert files, "deploy/kubernetes holds no committed file"
    assert not [name for name in files if "/generated/" in name]
    ignored = run("git", "check-ignore", "--no-index", "deploy/kubernetes/overlays/local/generated/auth.secret.env")
    assert ignored.strip() == "deploy/kubernetes/overlays/local/generated/auth.secret.env"


def test_no_committed_secret_object():
    for name in committed_manifests():
        if not name.endswith((".yaml", ".yml")):
            continue
        for document in yaml.safe_load_all((ROOT / name).read_text()):
            if not isinstance(document, dict):
                continue  # a replacements file is a list, and holds no value
            if document.get("kind") == "Secret":
                assert not document.get("data") and not document.get("stringData"), f"{name}: a Secret with values"
            for generator in document.get("secretGenerator") or []:
                where = f"{name}: secretGenerator {generator.get('name')}"
                assert not generator.get("literals"), f"{where} has literals"
                # A generator with no source holds nothing (a base's placeholder an overlay replaces).
                sources = [*(generator.get("envs") or []), *(generator.get("files") or [])]
                for source in sources:
                    path = source.split("=", 1)[-1]
                    assert path.startswith("generated/"), f"{where} reads {path}, not a generated file"


def test_every_secret_value_comes_from_a_generated_file(rendering):
    files = {path.name: path.read_text() for path in rendering.generated.iterdir() if path.is_file()}
    env_values = {}
    for name, text in files.items():
        if name.endswith(".env"):
            env_values.update({(name, key): value for key, value in read_dotenv(text).items()})
    secrets = rendering.of_kind("Secret")
    assert secrets, f"{rendering.overlay}: no Secret rendered"
    for secret in secrets:
        assert not secret.get("stringData"), secret["metadata"]["name"]
        for key, encoded in secret.get("data", {}).items():
            value = base64.b64decode(encoded).decode()
            where = f"{rendering.overlay}: Secret {secret['metadata']['name']} key {key}"
            from_env = any(k == key and v == value for (_, k), v in env_values.items())
            from_file = files.get(key) == value
            assert from_env or from_file, f"{where} is in no file of generated/"


def test_secret_values_only_in_secrets(rendering):
    secrets = generated_secrets(rendering)
    assert {"AS_SECRET_KEY", "REDIS_PASSWORD", "OIDC_RSA_PRIVATE_KEY"} <= set(secrets)
    secret_data = "\n".join(
        base64.b64decode(value).decode() for secret in rendering.of_kind("Secret") for value in secret["data"].values()
    )
    # Every generated secret a container or the databases need is in a Secret...
    for name in ("AS_SECRET_KEY", "RS_SECRET_KEY", "TEAM_RS_SECRET_KEY", "OIDC_RSA_PRIVATE_KEY", "REDIS_PASSWORD"):
        assert secrets[name] in secret_data, f"{rendering.overlay}: {name} is in no Secret"
    # ...and in nothing else the cluster receives: no ConfigMap, no literal value.
    elsewhere = yaml.safe_dump_all([obj for obj in rendering.objects if obj["kind"] != "Secret"])
    leaked = sorted(name for name, value in secrets.items() if value in elsewhere)
    assert not leaked, f"{rendering.overlay}: outside Secrets: {leaked}"
    # The committed files of the copy (all but generated/) hold none of them.
    for path in rendering.folder.rglob("*"):
        relative = path.relative_to(rendering.folder)
        if path.is_file() and "generated" not in relative.parts:
            text = path.read_text()
            found = sorted(name for name, value in secrets.items() if value in text)
            assert not found, f"{relative} holds {found}"
    # Nor does any file of the repository: the generator wrote where --output told it, nowhere else.
    for name in run("git", "ls-files", "-z").split("\0"):
        path = ROOT / name
        if name and path.is_file():
            text = path.read_bytes().decode(errors="replace")
            found = sorted(key for key, value in secrets.items() if value in text)
            assert not found, f"committed file {name} holds {found}"
