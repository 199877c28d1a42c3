"""Every rendered object is valid for every supported Kubernetes version (the API's own schemas, offline)."""

import kubernetes_validate
import pytest
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

from .versions import KUBERNETES_VERSIONS


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates(rendering, version):
    assert rendering.objects, f"{rendering.overlay}: kubectl kustomize rendered nothing"
    problems = []
    for obj in rendering.objects:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            # strict: a field the API does not know (a typo, a misplaced key) fails too.
            kubernetes_validate.validate(obj, version, strict=True)
        except ValidationError as error:
            path = ".".join(str(item) for item in error.path)
            problems.append(f"{where}: {path}: {error.message}")
        except SchemaNotFoundError as error:
            problems.append(f"{where}: {error.message}")
    assert not problems, f"{rendering.overlay} against Kubernetes {version}:\n" + "\n".join(problems)


def test_namespace_and_labels(rendering):
    namespace = rendering.named("Namespace", "split-oauth2")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for obj in rendering.objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert obj["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "split-oauth2", where
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == "split-oauth2", where
    for pod in rendering.pods.values():
        assert pod.labels.get("app.kubernetes.io/instance") in {"auth", "resource", "team", "postgres"}, pod.name
        assert pod.labels.get("app.kubernetes.io/component") in {
            "server",
            "migration",
            "seed",
            "housekeeping",
            "cache",
            "database",
        }, pod.name
