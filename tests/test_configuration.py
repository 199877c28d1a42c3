import os
import socket
import subprocess
import sys

import psycopg
import pytest

from shared import serve as shared_serve
from shared import wait_for_database
from shared.serve import environment_of
from shared.settings import DERIVED, PORTS, audience_of, read_dotenv

from .stack import ROOT, base_environment, resource_server_environment, seed_secrets, signing_key

VARIABLES = ("RESOURCE_SERVER_AUTH_TOKEN", "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS")
# A database password, whose start must appear in no line.
PASSWORD = "Sup3r-Secret-Pw"
BOTH = {"RESOURCE_SERVER_AUTH_TOKEN": "t", "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": "rs:secret"}


def resource_environment(**overrides) -> dict:
    env = resource_server_environment("http://127.0.0.1:9", "token", seed_secrets(), "sqlite:///:memory:")
    env.pop("RESOURCE_SERVER_AUTH_TOKEN")
    return {**env, **overrides}


def start_resource_server(server: str = "resource", **overrides) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "shared.serve", server], ROOT, resource_environment(**overrides))


def run(command: list[str], cwd, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def assert_one_line(result: subprocess.CompletedProcess, *names: str, server: str) -> None:
    """The contract of every configuration error: one line on stderr naming the variable, no traceback."""
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{server}: configuration error: "), lines[0]
    assert all(name in lines[0] for name in names), lines[0]


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


@pytest.mark.parametrize("command", [["migrate", "--no-input"], ["check"], ["showmigrations"]])
def test_manage_py_names_both_credential_variables_in_one_line(command):
    """make run-resource migrates first, and so do Compose's resource-migrate and team-migrate."""
    result = run([sys.executable, "manage.py", *command], ROOT / "resource_server", resource_environment(**BOTH))

    assert_one_line(result, *VARIABLES, server="resource_server")


def test_manage_py_names_a_bad_cors_origin_in_one_line():
    env = resource_environment(RESOURCE_SERVER_AUTH_TOKEN="t", RS_CORS_ALLOWED_ORIGINS="https://app.example/path")

    result = run([sys.executable, "manage.py", "migrate", "--no-input"], ROOT / "resource_server", env)

    assert_one_line(result, "RS_CORS_ALLOWED_ORIGINS", server="resource_server")


def test_the_team_apis_manage_py_names_its_variables_in_one_line():
    team = {f"TEAM_{name}": value for name, value in resource_environment(**BOTH).items() if name.startswith("R")}
    env = {**base_environment(), **team}

    result = run([sys.executable, "-m", "shared.serve", "manage", "team", "migrate", "--no-input"], ROOT, env)

    assert_one_line(result, *VARIABLES, server="resource_server")


@pytest.mark.parametrize("command", [["migrate", "--no-input"], ["seed"]])
def test_the_authorization_servers_manage_py_names_a_missing_secret_key_in_one_line(command):
    env = {**base_environment(), "AS_DATABASE_URL": "sqlite:///:memory:", "OIDC_RSA_PRIVATE_KEY": signing_key()}

    result = run([sys.executable, "manage.py", *command], ROOT / "auth_server", env)

    assert_one_line(result, "AS_SECRET_KEY", server="auth_server")


def authorization_server_environment(**overrides) -> dict:
    return {
        **base_environment(),
        "AS_SECRET_KEY": "configuration-tests-only",
        "AS_DATABASE_URL": "sqlite:///:memory:",
        "OIDC_RSA_PRIVATE_KEY": signing_key(),
        **overrides,
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [("AS_LOGIN_FAILURE_LIMIT", "five"), ("OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS", "1h"), ("EMAIL_PORT", "smtp")],
)
def test_a_number_that_is_not_one_is_named_in_one_line(name, value):
    result = run(
        [sys.executable, "manage.py", "check"], ROOT / "auth_server", authorization_server_environment(**{name: value})
    )

    assert_one_line(result, name, server="auth_server")


@pytest.mark.parametrize("value", ["ture", "flase", "2"])
def test_a_switch_that_is_neither_true_nor_false_is_named_in_one_line(value):
    """django-environ reads any word it does not know as false: DJANGO_HTTPS=ture would
    quietly turn HTTPS off. Fail closed: name it instead."""
    result = run(
        [sys.executable, "manage.py", "check"],
        ROOT / "auth_server",
        authorization_server_environment(DJANGO_HTTPS=value),
    )

    assert_one_line(result, "DJANGO_HTTPS", server="auth_server")


def test_an_empty_switch_or_number_means_its_default():
    """An empty value in .env (NAME=) is the default, as for every other variable: an empty
    DJANGO_HTTPS keeps the production settings' HTTPS on instead of turning it off."""
    env = authorization_server_environment(DJANGO_HTTPS="", AS_LOGIN_FAILURE_LIMIT="")
    code = "from django.conf import settings; print(settings.SECURE_SSL_REDIRECT, settings.AXES_FAILURE_LIMIT)"

    result = run([sys.executable, "manage.py", "shell", "-c", code], ROOT / "auth_server", env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["True", "5"]


BAD_GUNICORN_NUMBERS = [("WEB_CONCURRENCY", "0"), ("GUNICORN_TIMEOUT", "x"), ("GUNICORN_THREADS", "-1")]


@pytest.mark.parametrize(("name", "value"), [("WEB_CONCURRENCY", "abc"), *BAD_GUNICORN_NUMBERS])
def test_make_run_names_a_bad_gunicorn_number_in_one_line(name, value):
    """gunicorn reads WEB_CONCURRENCY itself as it is imported, before any configuration file:
    the launcher checks it first (and so does the containers' entrypoint)."""
    env = resource_environment(RESOURCE_SERVER_AUTH_TOKEN="t", **{name: value})

    result = run([sys.executable, "-m", "shared.serve", "resource"], ROOT, env)

    assert_one_line(result, name, server="resource_server")


@pytest.mark.parametrize(("name", "value"), BAD_GUNICORN_NUMBERS)
def test_gunicorns_configuration_names_a_bad_number_in_one_line(name, value):
    env = {**resource_environment(RESOURCE_SERVER_AUTH_TOKEN="t", **{name: value}), "PYTHONPATH": str(ROOT)}
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "python:shared.gunicorn_conf", "config.wsgi"]

    result = run(gunicorn, ROOT / "resource_server", env)

    assert_one_line(result, name, server="resource_server")


@pytest.mark.parametrize(
    "value",
    ["/api/", "api.example", "ftp://api.example/", "https://api.example/#x", "https://u:p@api.example/"],
    ids=["relative", "no-scheme", "ftp", "fragment", "userinfo"],
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


@pytest.fixture
def dotenv(monkeypatch, tmp_path):
    """A .env of the launcher's and the settings' own, and nothing of the ports and what follows them
    in the environment. read_dotenv writes into os.environ: each name is set first so that it is restored."""
    for name in (*PORTS, *DERIVED, *(f"TEAM_{name}" for name in DERIVED)):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    for name in ("DJANGO_READ_DOT_ENV_FILE", "TEAM_DJANGO_READ_DOT_ENV_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(shared_serve, "ROOT", tmp_path)
    return tmp_path / ".env"


def read_by(audience: str, dotenv) -> dict:
    """The derived values a process of ``audience`` reading ``dotenv`` itself (manage.py run directly) ends with."""
    read_dotenv(dotenv.parent, audience)
    return {name: os.environ[name] for name in DERIVED if audience in audience_of(name)}


def test_the_apis_introspection_url_and_the_issuer_follow_as_port(dotenv):
    dotenv.write_text("AS_PORT=8100\nRESOURCE_SERVER_INTROSPECTION_URL=\nOAUTH_ISSUER=\n")

    resource, team, auth = (environment_of(server) for server in ("resource", "team", "auth"))

    assert resource["RESOURCE_SERVER_INTROSPECTION_URL"] == "http://127.0.0.1:8100/o/introspect/"
    assert team["RESOURCE_SERVER_INTROSPECTION_URL"] == "http://127.0.0.1:8100/o/introspect/"
    assert auth["OAUTH_ISSUER"] == "http://127.0.0.1:8100"


def test_each_apis_resource_follows_its_port_and_the_seed_registers_the_same(dotenv):
    dotenv.write_text("RS_PORT=8101\nTEAM_RS_PORT=8102\nRESOURCE_SERVER_RESOURCE=\n")

    resource, team = (environment_of(server) for server in ("resource", "team"))
    seed = read_by("seed", dotenv)

    assert resource["RESOURCE_SERVER_RESOURCE"] == seed["RESOURCE_SERVER_RESOURCE"] == "http://127.0.0.1:8101/"
    assert team["RESOURCE_SERVER_RESOURCE"] == seed["TEAM_RESOURCE_SERVER_RESOURCE"] == "http://127.0.0.1:8102/"


def test_a_value_set_explicitly_wins_over_the_one_it_would_follow(dotenv, monkeypatch):
    dotenv.write_text(
        "AS_PORT=8100\nRS_PORT=8101\nRESOURCE_SERVER_INTROSPECTION_URL=https://login.example/o/introspect/\n"
        "RESOURCE_SERVER_RESOURCE=https://api.example/\n"
    )
    monkeypatch.setenv("TEAM_RESOURCE_SERVER_RESOURCE", "https://team.example/")
    monkeypatch.setenv("OAUTH_ISSUER", "https://login.example")

    resource, team, auth = (environment_of(server) for server in ("resource", "team", "auth"))

    assert resource["RESOURCE_SERVER_INTROSPECTION_URL"] == "https://login.example/o/introspect/"
    assert resource["RESOURCE_SERVER_RESOURCE"] == read_by("seed", dotenv)["RESOURCE_SERVER_RESOURCE"]
    assert resource["RESOURCE_SERVER_RESOURCE"] == "https://api.example/"
    assert team["RESOURCE_SERVER_RESOURCE"] == "https://team.example/"
    assert team["RESOURCE_SERVER_INTROSPECTION_URL"] == "http://127.0.0.1:8100/o/introspect/"
    assert auth["OAUTH_ISSUER"] == "https://login.example"


@pytest.mark.parametrize("audience", ["auth_server", "resource_server"])
def test_a_server_reading_dotenv_itself_derives_what_the_launcher_does(dotenv, audience):
    """cd resource_server && manage.py migrate (make migrate-resource), or the AS's, with .env's empty values."""
    dotenv.write_text("AS_PORT=8100\nRS_PORT=8101\nRESOURCE_SERVER_INTROSPECTION_URL=\nOAUTH_ISSUER=\n")
    server = {"auth_server": "auth", "resource_server": "resource"}[audience]
    launched = environment_of(server)

    own = read_by(audience, dotenv)

    assert own == {name: launched[name] for name in own}
    assert (
        set(own)
        == {
            "auth_server": {"OAUTH_ISSUER"},
            "resource_server": {"RESOURCE_SERVER_INTROSPECTION_URL", "RESOURCE_SERVER_RESOURCE"},
        }[audience]
    )


def test_nothing_is_derived_for_a_process_configured_by_its_environment_alone(dotenv, monkeypatch):
    """Containers and the end-to-end tests (DJANGO_READ_DOT_ENV_FILE=false): a missing value stays missing."""
    monkeypatch.setenv("DJANGO_READ_DOT_ENV_FILE", "false")

    read_dotenv(dotenv.parent, "resource_server")

    assert not [name for name in DERIVED if name in os.environ]


def test_no_server_sees_what_another_follows(dotenv):
    """Deriving adds no variable outside its audience: the AS gets no API's URL, an API no issuer."""
    dotenv.write_text("")

    resource, auth = environment_of("resource"), environment_of("auth")

    assert "OAUTH_ISSUER" not in resource and "TEAM_RESOURCE_SERVER_RESOURCE" not in resource
    assert not [name for name in auth if name.startswith(("RESOURCE_SERVER_", "TEAM_"))]


def test_a_password_the_database_refuses_is_explained_in_one_line(monkeypatch):
    """A .env regenerated against an existing volume: the containers' entrypoint says which variable and what to run.

    Local PostgreSQL trusts local users, so the refusal is psycopg's error as libpq words it
    (Compose's test_configuration.py makes the real one).
    """
    refused = psycopg.OperationalError(
        'connection failed: connection to server at "172.18.0.2", port 5432 failed:'
        ' FATAL:  password authentication failed for user "team_server"'
    )
    monkeypatch.setattr(wait_for_database, "wait", lambda host, port, seconds: True)
    monkeypatch.setattr(wait_for_database, "log_in", lambda url: refused)
    monkeypatch.setenv("RS_DATABASE_URL", "postgres://team_server:n3w-s3cret@postgres:5432/team_server")
    monkeypatch.setenv("RS_NAME", "team_server")
    monkeypatch.delenv("AS_DATABASE_URL", raising=False)

    with pytest.raises(SystemExit) as exit:
        wait_for_database.main()

    line = str(exit.value.code)
    assert line.startswith("team_server: configuration error: TEAM_RS_DB_PASSWORD "), line
    assert "\n" not in line and "n3w-s3cret" not in line
    assert "docker compose down -v" in line and "10-databases.sh" in line


def test_a_database_that_accepts_the_password_lets_the_server_start(monkeypatch):
    monkeypatch.setattr(wait_for_database, "wait", lambda host, port, seconds: True)
    monkeypatch.setattr(wait_for_database, "log_in", lambda url: None)
    monkeypatch.setenv("AS_DATABASE_URL", "postgres://auth_server:right@postgres:5432/auth_server")
    monkeypatch.delenv("RS_DATABASE_URL", raising=False)

    assert wait_for_database.main() == 0


@pytest.mark.parametrize(
    ("server", "environment"),
    [
        ("resource_server", lambda **extra: resource_environment(RESOURCE_SERVER_AUTH_TOKEN="t", **extra)),
        ("auth_server", authorization_server_environment),
    ],
    ids=["resource", "auth"],
)
def test_an_unknown_log_level_is_named_in_one_line(server, environment):
    """logging.config.dictConfig raises a bare ValueError (a traceback) for a level it does not know."""
    result = run([sys.executable, "manage.py", "check"], ROOT / server, environment(LOG_LEVEL="LOUD"))

    assert_one_line(result, "LOG_LEVEL", server=server)


def assert_one_line_without_the_password(result: subprocess.CompletedProcess, name: str, server: str) -> None:
    assert PASSWORD[:6] not in result.stdout + result.stderr, "the password (or its start) is printed"
    assert_one_line(result, name, server=server)


MALFORMED_DATABASE_URLS = {
    "port-not-a-number": f"postgres://resource_server:{PASSWORD}@127.0.0.1:abc/resource_server",
    # A '/' in the password, not percent-encoded, ends the URL's authority there: the rest of
    # the password reads as the port ("Port could not be cast to integer value as '<password>'").
    "slash-in-password": f"postgres://resource_server:{PASSWORD}/x@127.0.0.1:5432/resource_server",
}


@pytest.mark.parametrize(
    "url",
    [*MALFORMED_DATABASE_URLS.values(), f"postgress://resource_server:{PASSWORD}@127.0.0.1:5432/resource_server"],
    ids=[*MALFORMED_DATABASE_URLS, "unknown-scheme"],
)
def test_a_malformed_database_url_is_named_in_one_line_without_its_password(url):
    env = resource_environment(RESOURCE_SERVER_AUTH_TOKEN="t", RS_DATABASE_URL=url)

    result = run([sys.executable, "manage.py", "check"], ROOT / "resource_server", env)

    assert_one_line_without_the_password(result, "RS_DATABASE_URL", server="resource_server")


@pytest.fixture
def silent_database():
    """A port that accepts TCP connections and never answers: the entrypoint gets as far as logging in."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def entrypoint(**variables: str) -> subprocess.CompletedProcess:
    env = {**base_environment(), "PYTHONPATH": str(ROOT), "DATABASE_WAIT_SECONDS": "3", **variables}
    return run([sys.executable, "-m", "shared.wait_for_database"], ROOT, env)


@pytest.mark.parametrize("scheme", ["psql", "pgsql"])
def test_the_entrypoint_logs_in_to_what_the_servers_read_and_never_prints_the_password(silent_database, scheme):
    """django-environ (so the servers) reads psql:// and pgsql://; psycopg given the URL refuses
    them, quoting the whole URL in its message."""
    url = f"{scheme}://resource_server:{PASSWORD}@127.0.0.1:{silent_database}/resource_server"

    result = entrypoint(RS_DATABASE_URL=url)

    assert_one_line_without_the_password(result, "RS_DATABASE_URL", server="resource_server")


@pytest.mark.parametrize("url", MALFORMED_DATABASE_URLS.values(), ids=MALFORMED_DATABASE_URLS)
def test_the_entrypoint_names_a_malformed_database_url_in_one_line_without_its_password(url):
    result = entrypoint(RS_DATABASE_URL=url)

    assert_one_line_without_the_password(result, "RS_DATABASE_URL", server="resource_server")


def test_the_entrypoint_names_a_wait_that_is_no_number_in_one_line():
    result = entrypoint(RS_DATABASE_URL="sqlite:///:memory:", DATABASE_WAIT_SECONDS="a minute")

    assert_one_line(result, "DATABASE_WAIT_SECONDS", server="resource_server")


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:abc/0", f"redis://:{PASSWORD}/x@127.0.0.1:6379/0", f"memcached://:{PASSWORD}@127.0.0.1/"],
    ids=["port-not-a-number", "slash-in-password", "not-redis"],
)
def test_a_token_cache_url_that_can_never_work_is_named_in_one_line_without_its_password(url):
    """Before, the API started, and every request found the cache unavailable (or the URL became a directory)."""
    env = resource_environment(RESOURCE_SERVER_AUTH_TOKEN="t", RS_CACHE_URL=url)

    result = run([sys.executable, "manage.py", "check"], ROOT / "resource_server", env)

    assert_one_line_without_the_password(result, "RS_CACHE_URL", server="resource_server")


# prometheus_client picks multiprocess mode as it is imported, from PROMETHEUS_MULTIPROC_DIR, and both
# projects create their series as their apps load: a manage.py command (make migrate*, the seed, make
# doctor) would write files of its own pid into an exported directory, or trace back when it is gone
# (a previous run's temporary directory).
def test_manage_py_runs_whatever_metrics_directory_the_shell_exports():
    env = resource_environment(RESOURCE_SERVER_AUTH_TOKEN="t", PROMETHEUS_MULTIPROC_DIR="/nonexistent/prometheus")

    result = run([sys.executable, "manage.py", "check"], ROOT / "resource_server", env)

    assert (result.returncode, "Traceback" in result.stderr) == (0, False), result.stderr[-300:]


def test_manage_py_writes_nothing_into_an_exported_metrics_directory(tmp_path):
    env = resource_environment(RESOURCE_SERVER_AUTH_TOKEN="t", PROMETHEUS_MULTIPROC_DIR=str(tmp_path))

    result = run([sys.executable, "manage.py", "check"], ROOT / "resource_server", env)

    assert result.returncode == 0, result.stderr[-300:]
    assert list(tmp_path.iterdir()) == []


def test_the_launcher_runs_manage_py_without_an_exported_metrics_directory_as_it_starts_servers(monkeypatch):
    environments = []

    def ran(command, cwd, env):
        environments.append(env)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(shared_serve.subprocess, "run", ran)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp/exported")

    shared_serve.manage("resource", ["check"])

    assert [env for env in environments if "PROMETHEUS_MULTIPROC_DIR" in env] == []
    assert len(environments) == 1


@pytest.mark.parametrize(
    ("audience", "name"),
    [("auth_server", "OAUTH_ISSUER"), ("resource_server", "RESOURCE_SERVER_INTROSPECTION_URL")],
)
def test_nothing_is_derived_on_a_host_without_a_dotenv(dotenv, audience, name):
    """gunicorn under systemd, say, configured by its environment: an empty OAUTH_ISSUER is each
    request's own origin, and a missing introspection URL stops the API with the line naming it."""
    assert not dotenv.exists()

    read_dotenv(dotenv.parent, audience)

    assert os.environ.get(name, "") == ""
