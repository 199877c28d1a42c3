"""Migrations run once per release as Jobs, never in a server; the seed and housekeeping; HPAs, PDBs, Services."""

import json
import os
import re
import subprocess
import sys

import pytest

from .rendering import ROOT

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
    (wait,) = pod.spec.get("initContainers", [])
    assert re.search(r"auth_server/manage\.py\b.*\bshowmigrations\b.*--plan", command_line(wait)), wait["args"]


def run_wait_for_migrations(rendering, tmp_path, steps: list[tuple[int, str]]) -> tuple[int | None, int]:
    """The seed's init container's command under sh, with a python answering ``steps`` (exit code, output).

    Returns the command's exit code (None: still looping after the steps ran out) and how many
    times it ran python. sleep is a no-op.
    """
    (wait,) = rendering.pods["auth-seed"].spec["initContainers"]
    command = [*wait.get("command", []), *wait["args"]]
    assert command[:2] == ["sh", "-c"], command
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "steps.json").write_text(json.dumps(steps))
    (bin_dir / "python").write_text(
        f"#!{sys.executable}\n"
        "import json, pathlib, sys\n"
        f"state = pathlib.Path({str(tmp_path)!r})\n"
        "count = state / 'count'\n"
        "n = int(count.read_text()) if count.exists() else 0\n"
        "count.write_text(str(n + 1))\n"
        "steps = json.loads((state / 'steps.json').read_text())\n"
        "if n >= len(steps) or sys.argv[1:] != ['auth_server/manage.py', 'showmigrations', '--plan']:\n"
        "    sys.exit(3)\n"
        "code, output = steps[n]\n"
        "print(output)\n"
        "sys.exit(code)\n"
    )
    (bin_dir / "sleep").write_text("#!/bin/sh\n")
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    environment = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    try:
        done = subprocess.run(command, env=environment, capture_output=True, timeout=5)
        code = done.returncode
    except subprocess.TimeoutExpired:
        code = None
    calls = int((tmp_path / "count").read_text()) if (tmp_path / "count").exists() else 0
    return code, calls


UNAPPLIED = "[X]  oauth2_provider.0001_initial\n[ ]  oauth2_provider.0002_auto"
APPLIED = "[X]  oauth2_provider.0001_initial\n[X]  oauth2_provider.0002_auto"


def test_seed_waits_while_a_migration_is_unapplied(rendering, tmp_path):
    assert run_wait_for_migrations(rendering, tmp_path, [(0, UNAPPLIED), (0, UNAPPLIED), (0, APPLIED)]) == (0, 3)


@pytest.mark.parametrize(
    "steps",
    [[(1, "django.db.utils.OperationalError: connection refused")], [(0, UNAPPLIED), (1, "ImproperlyConfigured")]],
    ids=["error-first", "error-later"],
)
def test_seed_fails_on_any_other_error_rather_than_wait(rendering, tmp_path, steps):
    code, calls = run_wait_for_migrations(rendering, tmp_path, steps)
    assert code not in (0, None), f"the wait ended with {code} on an error"
    assert calls == len(steps)


def test_release_jobs_give_up(rendering):
    """A stuck migration or a seed that waits for a failed one ends Failed, within the docs' kubectl wait."""
    deadlines = {}
    for pod in rendering.pods.values():
        if pod.kind == "CronJob":
            spec = pod.workload["spec"]["jobTemplate"]["spec"]
        elif pod.kind == "Job":
            spec = pod.workload["spec"]
        else:
            continue
        deadline = spec.get("activeDeadlineSeconds")
        assert isinstance(deadline, int) and deadline > 0, f"{pod.name}: activeDeadlineSeconds {deadline}"
        deadlines[pod.name] = deadline
    # The seed waits for auth-migrate's work, then seeds.
    assert deadlines["auth-seed"] > deadlines["auth-migrate"]
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    waits = re.findall(r"wait --for=condition=complete --timeout=(\d+)m", docs)
    assert waits, "docs/kubernetes.md waits for the Jobs nowhere"
    release = max(deadline for name, deadline in deadlines.items() if name != "auth-housekeeping")
    for minutes in waits:
        assert int(minutes) * 60 > release, f"kubectl wait gives up ({minutes}m) before a Job's deadline ({release} s)"


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


def millicores(quantity: str) -> int:
    return int(quantity[:-1]) if str(quantity).endswith("m") else int(float(quantity) * 1000)


@pytest.mark.parametrize("server", ["auth-server", "resource-server", "team-server"])
def test_server_cpu_request_is_what_its_workers_use(rendering, server):
    """An HPA's utilisation is of the request: at 100m, 70 % is 70m, and an idle-ish API scales out."""
    resources = rendering.pods[server].container()["resources"]
    request, limit = millicores(resources["requests"]["cpu"]), millicores(resources["limits"]["cpu"])
    assert 250 <= request < limit, f"{server}: CPU request {request}m, limit {limit}m"
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    assert f"70 % of the CPU request ({request}m)" in " ".join(docs.split()), "docs/kubernetes.md's Scaling"
