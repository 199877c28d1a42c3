"""Configuration mistakes under Compose: one line naming the variable, in the failing service's own output.

Each case runs one service again beside the running stack (``compose run --rm``,
without its dependencies) with one mistake, as a user would after editing .env.
"""

import pytest

from ..stack import compose

BOTH = ("RESOURCE_SERVER_AUTH_TOKEN", "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS")


def run_once(service: str, **environment: str) -> tuple[int, list[str], str]:
    """The service run once with ``environment`` over its own: exit code, configuration error lines, output."""
    overrides = [argument for name, value in environment.items() for argument in ("-e", f"{name}={value}")]
    result = compose("run", "--rm", "--no-deps", *overrides, service, check=False)
    output = result.stdout + result.stderr
    return result.returncode, [line for line in output.splitlines() if "configuration error" in line], output


@pytest.mark.parametrize("service", ["resource-migrate", "team-migrate", "resource-server"])
def test_both_credential_variables_set_are_named_in_one_line(service):
    """The migrate job is what fails first (the server waits for it); the server says the same."""
    code, lines, output = run_once(service, RESOURCE_SERVER_AUTH_TOKEN="t")

    assert code != 0, output
    assert "Traceback" not in output, output
    assert len(lines) == 1, output
    assert all(name in lines[0] for name in BOTH), lines[0]
    assert lines[0].startswith("resource_server: configuration error: "), output


@pytest.mark.parametrize("service", ["auth-server", "resource-migrate"])
def test_a_bad_worker_count_is_named_in_one_line(service):
    """gunicorn reads WEB_CONCURRENCY as it is imported: the entrypoint checks it first."""
    code, lines, output = run_once(service, WEB_CONCURRENCY="abc")

    assert code != 0, output
    assert "Traceback" not in output, output
    assert len(lines) == 1 and "WEB_CONCURRENCY" in lines[0], output


def test_a_regenerated_database_password_is_explained_in_one_line(monkeypatch):
    """A .env regenerated against the existing volume: PostgreSQL refuses the new AS_DB_PASSWORD."""
    monkeypatch.setenv("AS_DB_PASSWORD", "regenerated-0123456789")

    code, lines, output = run_once("auth-migrate")

    assert code != 0, output
    assert "Traceback" not in output, output
    assert len(lines) == 1, output
    assert lines[0].startswith("auth_server: configuration error: AS_DB_PASSWORD "), lines[0]
    assert "docker compose down -v" in lines[0]
    assert "regenerated-0123456789" not in output
