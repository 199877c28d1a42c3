import subprocess
import sys

import pytest

from shared.serve import environment_of
from shared.settings import audience_of

from .stack import ROOT, resource_server_environment, seed_secrets

VARIABLES = ("RESOURCE_SERVER_AUTH_TOKEN", "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS")


def start_resource_server(server: str = "resource", **overrides) -> subprocess.CompletedProcess:
    env = resource_server_environment("http://127.0.0.1:9", "token", seed_secrets(), "sqlite:///:memory:")
    env.pop("RESOURCE_SERVER_AUTH_TOKEN")
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-m", "shared.serve", server],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "variables",
    [
        {},
        {"RESOURCE_SERVER_AUTH_TOKEN": "t", "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": "rs:secret"},
    ],
    ids=["neither", "both"],
)
def test_resource_server_refuses_to_start_unless_exactly_one_credential_is_set(variables):
    result = start_resource_server(**variables)

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if all(name in line for name in VARIABLES)]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "value",
    ["", "/api/", "api.example", "ftp://api.example/", "https://api.example/#x", "https://u:p@api.example/"],
    ids=["missing", "relative", "no-scheme", "ftp", "fragment", "userinfo"],
)
def test_resource_server_refuses_to_start_without_a_valid_resource(value):
    result = start_resource_server(RESOURCE_SERVER_AUTH_TOKEN="t", RESOURCE_SERVER_RESOURCE=value)

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "RESOURCE_SERVER_RESOURCE" in line]
    assert len(lines) == 1, result.stderr
    assert "configuration error" in lines[0]
    assert "Traceback" not in result.stderr


def test_the_team_api_takes_nothing_from_the_first_apis_variables():
    """The team instance reads TEAM_* alone: a complete first API is no configuration of it."""
    result = start_resource_server("team", RESOURCE_SERVER_AUTH_TOKEN="t")

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "configuration error" in line]
    assert len(lines) == 1, result.stderr
    assert "RS_SECRET_KEY" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "audiences"),
    [
        ("RS_SECRET_KEY", {"resource_server"}),
        ("TEAM_RS_SECRET_KEY", {"team"}),
        ("RESOURCE_SERVER_INTROSPECTION_CREDENTIALS", {"resource_server"}),
        ("TEAM_RESOURCE_SERVER_INTROSPECTION_CREDENTIALS", {"team"}),
        # What the seed registers: each API's identifier and scopes, and nothing else of theirs.
        ("RESOURCE_SERVER_RESOURCE", {"resource_server", "seed"}),
        ("RESOURCE_SERVER_SCOPES", {"resource_server", "seed"}),
        ("RESOURCE_SERVER_SCOPE_PREFIX", {"resource_server"}),
        ("TEAM_RESOURCE_SERVER_RESOURCE", {"team", "seed"}),
        ("TEAM_RESOURCE_SERVER_SCOPES", {"team", "seed"}),
        ("OAUTH_RS_CLIENT_SECRET", {"seed"}),
        ("OAUTH_RS_TEAM_CLIENT_SECRET", {"seed"}),
        ("OAUTH_ISSUER", {"auth_server"}),
        # The ID token signing keys: the AS's alone, never an API's.
        ("OIDC_RSA_PRIVATE_KEY", {"auth_server"}),
        ("OIDC_RSA_PRIVATE_KEYS_INACTIVE", {"auth_server"}),
        ("DEMO_WEB_CLIENT_SECRET", {"seed"}),
        ("LOG_LEVEL", {"auth_server", "resource_server", "team"}),
        ("LOG_LEVELS", set()),
        ("REDIS_PASSWORD", {"compose"}),
        ("DATABASE_CONN_MAX_AGE", {"auth_server", "resource_server", "team"}),
        ("AS_DATABASE_URL", {"auth_server"}),
        ("TEAM_RS_DATABASE_URL", {"team"}),
        ("DATABASE_URL", {"tests"}),
        ("TEST_DATABASE_URL", {"tests"}),
    ],
)
def test_each_variable_reaches_only_its_audiences(name, audiences):
    assert audience_of(name) == audiences


@pytest.mark.parametrize("server", ["auth", "resource", "team"])
def test_a_database_url_of_no_server_reaches_no_server(monkeypatch, server):
    """DATABASE_URL, the conventional name, is often an administrator's (the benchmark exports its superuser's)."""
    admin_url = "postgres://postgres:admin-password@db.example:5432/postgres"
    monkeypatch.setenv("DJANGO_READ_DOT_ENV_FILE", "false")
    monkeypatch.setenv("DATABASE_URL", admin_url)
    monkeypatch.setenv("TEST_DATABASE_URL", admin_url)

    environment = environment_of(server)

    assert admin_url not in environment.values()
