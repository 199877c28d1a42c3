"""manage.py doctor against the running stack: each server says in one line what is wrong, and exits 1.

The doctor runs as ``make doctor`` runs it, in the environment the server gets;
the faults are made by changing one variable of that environment.
"""

import subprocess
import sys

import pytest

from .stack import ROOT, free_port

pytestmark = pytest.mark.local_stack


def doctor(project: str, env: dict, **changes: str) -> tuple[int, list[str]]:
    result = subprocess.run(
        [sys.executable, "manage.py", "doctor"],
        cwd=ROOT / project,
        env={**env, **changes},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout.splitlines()


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if ": FAIL " in line]


def caller_variable(stack) -> str:
    return {"token": "RESOURCE_SERVER_AUTH_TOKEN", "credentials": "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"}[
        stack.mode
    ]


def test_a_running_stack_is_all_ok(stack):
    for project, server in (("auth_server", stack.servers[0]), ("resource_server", stack.servers[1])):
        code, lines = doctor(project, server.env)

        assert code == 0, lines
        assert failures(lines) == []
        assert any(": OK   migrations: all applied" in line for line in lines), lines
    assert any("clocks: the authorization server's clock is within" in line for line in lines), lines
    assert any("introspection answers: signed (RFC 9701): one verifies" in line for line in lines), lines
    assert any("token cache: set, get and delete answer" in line for line in lines), lines
    if stack.mode == "credentials":
        assert any(f"audience: RESOURCE_SERVER_RESOURCE {stack.resource} is registered" in line for line in lines)


def test_the_team_api_is_all_ok(stack, team_api):
    team = stack.servers[-1]
    result = subprocess.run(
        [sys.executable, "-m", "shared.serve", "manage", "team", "doctor"],
        cwd=ROOT,
        env=team.env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout
    assert all(line.startswith("team_server: ") for line in result.stdout.splitlines()), result.stdout


def test_refused_credentials_are_one_line_naming_them(stack):
    variable = caller_variable(stack)
    wrong = "resource-server:not-its-secret" if stack.mode == "credentials" else "not-a-token"

    code, lines = doctor("resource_server", stack.servers[1].env, **{variable: wrong})

    assert code == 1
    assert len(failures(lines)) == 1, lines
    assert variable in failures(lines)[0]
    assert wrong not in "\n".join(lines)


def test_an_unreachable_authorization_server_is_one_line_naming_the_url(stack):
    url = f"http://127.0.0.1:{free_port()}/o/introspect/"

    code, lines = doctor("resource_server", stack.servers[1].env, RESOURCE_SERVER_INTROSPECTION_URL=url)

    assert code == 1
    assert len(failures(lines)) == 1, lines
    assert "RESOURCE_SERVER_INTROSPECTION_URL" in failures(lines)[0]


def test_an_unregistered_audience_is_one_line_naming_it(stack):
    """Token mode holds no client credentials to ask the token endpoint with: the API's doctor
    says so and leaves the registration to the AS's doctor, failing nothing."""
    resource = f"http://127.0.0.1:{free_port()}/"

    code, lines = doctor("resource_server", stack.servers[1].env, RESOURCE_SERVER_RESOURCE=resource)

    if stack.mode == "token":
        assert code == 0, lines
        [skipped] = [line for line in lines if ": SKIP " in line and "audience" in line]
        assert "the authorization server's manage.py doctor checks each registration" in skipped
        return
    assert code == 1
    assert len(failures(lines)) == 1, lines
    assert "RESOURCE_SERVER_RESOURCE" in failures(lines)[0] and "manage.py seed" in failures(lines)[0]


def test_unapplied_migrations_say_run_migrate(stack, tmp_path):
    database = f"sqlite:///{tmp_path}/never-migrated.sqlite3"

    code, lines = doctor("resource_server", stack.servers[1].env, RS_DATABASE_URL=database)

    assert code == 1
    assert len(failures(lines)) == 1, lines
    assert "migrations" in failures(lines)[0] and "manage.py migrate" in failures(lines)[0]


def test_a_registration_the_seed_did_not_make_says_run_seed(stack):
    code, lines = doctor("auth_server", stack.servers[0].env, TEAM_RESOURCE_SERVER_SCOPES="team:read")

    assert code == 1
    assert len(failures(lines)) == 1, lines
    assert "TEAM_RESOURCE_SERVER_SCOPES" in failures(lines)[0] and "manage.py seed" in failures(lines)[0]
