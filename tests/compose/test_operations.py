"""Operating the Compose stack: the housekeeping job runs, and manage.py doctor passes in the running containers."""

import pytest

from ..stack import compose
from .containers import services

# Each server's doctor as an operator runs it: in the server's own container and environment.
DOCTOR = "cd {project} && python manage.py doctor"


def doctor(service: str, project: str, *options: str):
    return compose("exec", "-T", *options, service, "sh", "-c", DOCTOR.format(project=project), check=False)


def failures(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": FAIL " in line]


def test_the_housekeeping_job_runs_and_logs_each_run():
    state = services()["auth-housekeeping"]

    assert state["State"] == "running" and state["Health"] == "healthy", state
    log = compose("logs", "--no-color", "auth-housekeeping").stdout
    assert "housekeeping: removed" in log and "access tokens" in log and "sessions" in log, log
    assert "Traceback" not in log


@pytest.mark.parametrize("service", ["resource-server", "team-server"])
def test_doctor_passes_in_each_api_container(service):
    result = doctor(service, "resource_server")

    assert result.returncode == 0, result.stdout + result.stderr
    assert failures(result.stdout) == []
    for check in ("introspection credentials", "introspection answers: signed", "clocks", "audience", "token cache"):
        assert f": OK   {check}" in result.stdout, (check, result.stdout)


def test_doctor_passes_at_the_authorization_server_with_the_seed_environment():
    # auth-migrate's environment holds the seed's variables; the serving AS never sees them.
    command = ["run", "--rm", "--no-deps", "-T", "auth-migrate", "sh", "-c", DOCTOR.format(project="auth_server")]
    result = compose(*command, check=False)

    assert result.returncode == 0, result.stdout + result.stderr
    assert failures(result.stdout) == []
    for check in ("signing key", "first API", "team API", "migrations"):
        assert f": OK   {check}" in result.stdout, (check, result.stdout)


def test_doctor_names_refused_credentials_in_one_line():
    wrong = "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS=resource-server:not-its-secret"

    result = doctor("resource-server", "resource_server", "-e", wrong)

    assert result.returncode == 1
    [line] = failures(result.stdout)
    assert "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS" in line and "not-its-secret" not in result.stdout
