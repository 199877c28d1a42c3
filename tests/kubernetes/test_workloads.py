"""Migrations run once per release as Jobs, never in a server; the seed and housekeeping; HPAs, PDBs, Services."""

import re

import pytest

MIGRATE = re.compile(r"\bmigrate\b")


def command_line(container: dict) -> str:
    return " ".join([*container.get("command", []), *container.get("args", [])])


@pytest.mark.parametrize(
    ("job", "project"),
    [("auth-migrate", "auth_server"), ("resource-migrate", "resource_server"), ("team-migrate", "resource_server")],
)
def test_migration_jobs(rendering, job, project):
    pod = rendering.pods[job]
    assert pod.kind == "Job"
    assert pod.labels["app.kubernetes.io/component"] == "migration"
    line = command_line(pod.container())
    assert re.search(r"manage\.py\b.*\bmigrate\b", line), f"{job} runs {line!r}"
    assert "--check" not in line, f"{job} only checks: {line!r}"
    assert project in line, f"{job} runs {line!r}, not {project}'s manage.py"
    assert pod.spec.get("restartPolicy") in ("Never", "OnFailure")
    spec = pod.workload["spec"]
    assert isinstance(spec.get("backoffLimit"), int), f"{job}: backoffLimit"
    # Deleted before a release applies the next one (a Job's template is immutable); no TTL removes it first.
    assert "ttlSecondsAfterFinished" not in spec, job


def test_no_server_migrates(rendering):
    for pod in rendering.pods.values():
        if pod.kind in ("Job", "CronJob"):
            continue
        for container in pod.containers():
            line = command_line(container)
            assert not MIGRATE.search(line), f"{pod.name}/{container['name']} runs {line!r}"


def test_seed_job(rendering):
    pod = rendering.pods["auth-seed"]
    assert pod.kind == "Job"
    assert pod.labels["app.kubernetes.io/component"] == "seed"
    line = command_line(pod.container())
    assert re.search(r"manage\.py\b.*\bseed\b", line), f"auth-seed runs {line!r}"
    assert not MIGRATE.search(line), f"auth-seed migrates: {line!r}"
    # It waits for auth-migrate's work: an initContainer that passes once no migration is unapplied.
    waits = [command_line(container) for container in pod.spec.get("initContainers", [])]
    assert any(re.search(r"manage\.py\b.*\bmigrate\b.*--check", line) for line in waits), waits


def test_housekeeping(rendering):
    pod = rendering.pods["auth-housekeeping"]
    cronjob = pod.workload
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    minute, hour, *rest = cronjob["spec"]["schedule"].split()
    assert minute.isdigit() and hour == "*" and rest == ["*", "*", "*"], cronjob["spec"]["schedule"]
    line = command_line(pod.container())
    assert re.search(r"manage\.py\b.*\bhousekeeping\b", line), line
    assert "--every" not in line, f"a CronJob runs it once: {line!r}"
    assert pod.labels["app.kubernetes.io/component"] == "housekeeping"


def selected_pods(rendering, selector_labels: dict) -> set[str]:
    return {
        name
        for name, pod in rendering.pods.items()
        if all(pod.labels.get(key) == value for key, value in selector_labels.items())
    }


def test_horizontal_pod_autoscalers(rendering):
    hpas = {hpa["metadata"]["name"]: hpa for hpa in rendering.of_kind("HorizontalPodAutoscaler")}
    assert set(hpas) == {"resource-server", "team-server"}
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        assert target == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}, target
        rendering.named("Deployment", name)
        assert hpa["spec"]["minReplicas"] >= 2, f"{name}: a PDB with one replica blocks every drain"
        resources = [metric["resource"]["name"] for metric in hpa["spec"]["metrics"] if metric["type"] == "Resource"]
        assert "cpu" in resources, name
        # A CPU utilisation target needs a CPU request on every container of the pod.
        for container in rendering.pods[name].containers():
            assert container["resources"]["requests"]["cpu"], f"{name}/{container['name']}"


def test_pod_disruption_budgets(rendering):
    pdbs = {pdb["metadata"]["name"]: pdb for pdb in rendering.of_kind("PodDisruptionBudget")}
    assert set(pdbs) == {"auth-server", "resource-server", "team-server"}
    for name, pdb in pdbs.items():
        selector = pdb["spec"]["selector"]
        assert set(selector) == {"matchLabels"}, f"{name}: {selector}"
        assert selected_pods(rendering, selector["matchLabels"]) == {name}, f"PDB {name} selects {selector}"


def test_services(rendering):
    services = {service["metadata"]["name"]: service for service in rendering.of_kind("Service")}
    expected = {"auth-server": 8000, "resource-server": 8000, "team-server": 8000}
    expected |= {"resource-redis": 6379, "team-redis": 6379}
    if rendering.overlay == "local":
        expected["postgres"] = 5432
    assert {name: [port["port"] for port in service["spec"]["ports"]] for name, service in services.items()} == {
        name: [port] for name, port in expected.items()
    }
    for name, service in services.items():
        assert selected_pods(rendering, service["spec"]["selector"]) == {name}, f"Service {name} selects {service}"
