"""shared.kubernetes: what it derives from .env for each overlay, and what it refuses (no kubectl here)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared import kubernetes
from shared.dotenv import GENERATED

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = (ROOT / "compose.yaml").read_text()
PUBLIC = {
    "OAUTH_ISSUER": "https://auth.example.org",
    "RESOURCE_SERVER_RESOURCE": "https://api.example.org/",
    "TEAM_RESOURCE_SERVER_RESOURCE": "https://team.example.org/",
    "AS_DATABASE_URL": "postgres://auth_server:as-pw@db.example.org:5432/auth_server",
    "RS_DATABASE_URL": "postgres://resource_server:rs-pw@db.example.org:5432/resource_server",
    "TEAM_RS_DATABASE_URL": "postgres://team_server:team-pw@db.example.org:5432/team_server",
    "APP_IMAGE": "registry.example.org/split-oauth2-django:1.0.0",
}


@pytest.fixture(scope="module")
def dotenv(tmp_path_factory) -> dict[str, str]:
    """A .env as make env writes it (secrets generated once for the module: openssl is slow)."""
    target = tmp_path_factory.mktemp("dotenv") / ".env"
    subprocess.run(
        [sys.executable, "-m", "shared.dotenv", str(ROOT / ".env.example"), str(target)], check=True, cwd=ROOT
    )
    return kubernetes.read_dotenv(target)


def files(overlay: str, values: dict[str, str]) -> dict[str, dict[str, str]]:
    return kubernetes.environments(overlay, values, COMPOSE)


def merged(generated: dict[str, dict[str, str]], stem: str) -> dict[str, str]:
    return {**generated[f"{stem}.env"], **generated[f"{stem}.secret.env"]}


def refusal(overlay: str, values: dict[str, str]) -> str:
    with pytest.raises(kubernetes.Refused) as refused:
        files(overlay, values)
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_local_derives_what_compose_derives_with_the_clusters_names(dotenv):
    generated = files("local", dotenv)
    auth, resource, team = (merged(generated, stem) for stem in ("auth", "resource", "team"))
    assert auth["AS_DATABASE_URL"] == f"postgres://auth_server:{dotenv['AS_DB_PASSWORD']}@postgres:5432/auth_server"
    assert resource["RS_DATABASE_URL"] == (
        f"postgres://resource_server:{dotenv['RS_DB_PASSWORD']}@postgres:5432/resource_server"
    )
    assert (
        team["RS_DATABASE_URL"] == f"postgres://team_server:{dotenv['TEAM_RS_DB_PASSWORD']}@postgres:5432/team_server"
    )
    assert resource["RS_CACHE_URL"] == f"redis://:{dotenv['REDIS_PASSWORD']}@resource-redis:6379/0"
    assert team["RS_CACHE_URL"] == f"redis://:{dotenv['REDIS_PASSWORD']}@team-redis:6379/1"
    assert auth["OAUTH_ISSUER"] == "http://auth.localhost"
    assert auth["AS_ALLOWED_HOSTS"] == "127.0.0.1,localhost,auth.localhost,auth-server"
    assert resource["RS_ALLOWED_HOSTS"] == "127.0.0.1,localhost,api.localhost,resource-server"
    assert team["RS_ALLOWED_HOSTS"] == "127.0.0.1,localhost,team.localhost,team-server"
    for api, resource_url in ((resource, "http://api.localhost/"), (team, "http://team.localhost/")):
        assert api["RESOURCE_SERVER_INTROSPECTION_URL"] == "http://auth-server:8000/o/introspect/"
        assert api["RESOURCE_SERVER_AUTHORIZATION_SERVERS"] == "http://auth.localhost"
        assert api["RESOURCE_SERVER_RESOURCE"] == resource_url
        assert api["DJANGO_HTTPS"] == "false"
    assert auth["DJANGO_HTTPS"] == "false"
    assert auth["RESOURCE_SERVER_EVENTS_ENDPOINT"] == "http://resource-server:8000/security-events/"
    assert auth["TEAM_RESOURCE_SERVER_EVENTS_ENDPOINT"] == "http://team-server:8000/security-events/"
    assert auth["RESOURCE_SERVER_RESOURCE"] == resource["RESOURCE_SERVER_RESOURCE"]
    assert auth["TEAM_RESOURCE_SERVER_RESOURCE"] == team["RESOURCE_SERVER_RESOURCE"]
    assert generated["deployment.env"] == {
        "AS_HOST": "auth.localhost",
        "RS_HOST": "api.localhost",
        "TEAM_HOST": "team.localhost",
        "APP_IMAGE": "split-oauth2-django:latest",
    }
    assert generated["postgres.secret.env"] == {name: dotenv[name] for name in kubernetes.POSTGRES_PASSWORDS}


def test_compose_defaults_fill_what_env_leaves_unset(dotenv):
    values = {name: value for name, value in dotenv.items() if name not in ("WEB_CONCURRENCY", "LOG_LEVEL")}
    values["RESOURCE_SERVER_TOKEN_CACHING_SECONDS"] = ""
    generated = files("local", values)
    for stem in ("auth", "resource", "team"):
        assert generated[f"{stem}.env"]["WEB_CONCURRENCY"] == "2"
        assert generated[f"{stem}.env"]["LOG_LEVEL"] == "INFO"
    assert generated["resource.env"]["RESOURCE_SERVER_TOKEN_CACHING_SECONDS"] == "60"
    assert generated["resource.env"]["RESOURCE_SERVER_INTROSPECTION_TIMEOUT"] == "5"
    assert generated["team.env"]["RESOURCE_SERVER_INTROSPECTION_TIMEOUT"] == "5"
    assert generated["auth.env"]["HOUSEKEEPING_INTERVAL_SECONDS"] == ""


def test_local_hosts_follow_env_urls(dotenv):
    values = {**dotenv, "OAUTH_ISSUER": "http://login.test", "RESOURCE_SERVER_RESOURCE": "http://notes.test/"}
    generated = files("local", values)
    assert generated["deployment.env"]["AS_HOST"] == "login.test"
    assert generated["deployment.env"]["RS_HOST"] == "notes.test"
    assert generated["resource.env"]["RESOURCE_SERVER_AUTHORIZATION_SERVERS"] == "http://login.test"


def test_production_derives_public_urls(dotenv):
    generated = files("production", {**dotenv, **PUBLIC})
    auth, resource, team = (merged(generated, stem) for stem in ("auth", "resource", "team"))
    assert auth["AS_DATABASE_URL"] == PUBLIC["AS_DATABASE_URL"]
    assert resource["RS_DATABASE_URL"] == PUBLIC["RS_DATABASE_URL"]
    assert team["RS_DATABASE_URL"] == PUBLIC["TEAM_RS_DATABASE_URL"]
    for server in (auth, resource, team):
        assert server["DJANGO_HTTPS"] == "true"
    for api in (resource, team):
        # Through the Ingress over TLS, as compose.production.yaml goes through its proxy.
        assert api["RESOURCE_SERVER_INTROSPECTION_URL"] == "https://auth.example.org/o/introspect/"
        assert api["RESOURCE_SERVER_AUTHORIZATION_SERVERS"] == "https://auth.example.org"
    assert auth["RESOURCE_SERVER_EVENTS_ENDPOINT"] == "https://api.example.org/security-events/"
    assert auth["TEAM_RESOURCE_SERVER_EVENTS_ENDPOINT"] == "https://team.example.org/security-events/"
    assert auth["AS_CSRF_TRUSTED_ORIGINS"] == "https://auth.example.org"
    assert generated["deployment.env"] == {
        "AS_HOST": "auth.example.org",
        "RS_HOST": "api.example.org",
        "TEAM_HOST": "team.example.org",
        "APP_IMAGE": PUBLIC["APP_IMAGE"],
    }
    assert "postgres.secret.env" not in generated


@pytest.mark.parametrize("overlay", ["local", "production"])
def test_make_run_events_endpoints_are_not_the_clusters(dotenv, overlay):
    # .env's endpoints are make run's (http://127.0.0.1:8001/...); Compose never reads them:
    # compose.yaml and compose.production.yaml set both.
    values = {
        **dotenv,
        **PUBLIC,
        "RESOURCE_SERVER_EVENTS_ENDPOINT": "http://127.0.0.1:8001/security-events/",
        "TEAM_RESOURCE_SERVER_EVENTS_ENDPOINT": "https://notify.example.org/team/security-events/",
    }
    if overlay == "local":
        values = {name: value for name, value in values.items() if name not in PUBLIC}
    auth = files(overlay, values)["auth.env"]
    expected = {
        "local": ("http://resource-server:8000/security-events/", "http://team-server:8000/security-events/"),
        "production": ("https://api.example.org/security-events/", "https://team.example.org/security-events/"),
    }[overlay]
    assert (auth["RESOURCE_SERVER_EVENTS_ENDPOINT"], auth["TEAM_RESOURCE_SERVER_EVENTS_ENDPOINT"]) == expected


def test_production_events_endpoints_are_at_the_apis_origins(dotenv):
    values = {**dotenv, **PUBLIC, "RESOURCE_SERVER_RESOURCE": "https://api.example.org/notes/"}
    assert files("production", values)["auth.env"]["RESOURCE_SERVER_EVENTS_ENDPOINT"] == (
        "https://api.example.org/security-events/"
    )


@pytest.mark.parametrize("overlay", ["local", "production"])
def test_cache_urls_are_the_clusters_redis_whatever_dotenv_says(dotenv, overlay):
    # A .env used with make run may point RS_CACHE_URL at a Redis on 127.0.0.1; compose.yaml
    # always gives each API its own Redis, and so does each overlay.
    values = {
        **dotenv,
        **PUBLIC,
        "RS_CACHE_URL": "redis://127.0.0.1:6379/0",
        "TEAM_RS_CACHE_URL": "rediss://:pw@cache.example.org:6380/3",
    }
    generated = files(overlay, values)
    password = dotenv["REDIS_PASSWORD"]
    assert generated["resource.secret.env"]["RS_CACHE_URL"] == f"redis://:{password}@resource-redis:6379/0"
    assert generated["team.secret.env"]["RS_CACHE_URL"] == f"redis://:{password}@team-redis:6379/1"


@pytest.mark.parametrize("name", [*PUBLIC])
def test_production_refuses_a_missing_value_naming_it(dotenv, name):
    assert name in refusal("production", {**dotenv, **PUBLIC, name: ""})


@pytest.mark.parametrize("name", ["OAUTH_ISSUER", "RESOURCE_SERVER_RESOURCE", "TEAM_RESOURCE_SERVER_RESOURCE"])
@pytest.mark.parametrize("url", ["http://auth.example.org", "https://", "https://203.0.113.7", "auth.example.org"])
def test_production_refuses_what_is_no_https_url_with_a_host_name(dotenv, name, url):
    assert name in refusal("production", {**dotenv, **PUBLIC, name: url})


def test_local_refuses_an_address_for_an_ingress_host(dotenv):
    assert "OAUTH_ISSUER" in refusal("local", {**dotenv, "OAUTH_ISSUER": "http://127.0.0.1:8000"})


@pytest.mark.parametrize("name", ["AS_SECRET_KEY", "AS_DB_PASSWORD", "REDIS_PASSWORD", "OIDC_RSA_PRIVATE_KEY"])
def test_local_refuses_a_secret_compose_requires(dotenv, name):
    assert name in refusal("local", {**dotenv, name: ""})


def test_production_needs_no_postgres_password(dotenv):
    values = {**dotenv, **PUBLIC, **dict.fromkeys(kubernetes.POSTGRES_PASSWORDS, "")}
    assert "postgres.secret.env" not in files("production", values)


def test_a_value_with_a_line_break_is_refused(dotenv):
    message = refusal("local", {**dotenv, "DEMO_USERNAME": "demo\nuser"})
    assert "DEMO_USERNAME" in message
    message = refusal("local", {**dotenv, "TEAM_RS_CORS_ALLOWED_ORIGINS": "https://a.example\r"})
    assert "RS_CORS_ALLOWED_ORIGINS" in message


def test_no_generated_value_has_a_line_break(dotenv):
    for overlay, values in (("local", dotenv), ("production", {**dotenv, **PUBLIC})):
        for variables in files(overlay, values).values():
            assert not any("\n" in value or "\r" in value for value in variables.values())


def test_secrets_and_the_rest_are_apart(dotenv):
    generated = files("local", {**dotenv, "RESOURCE_SERVER_AUTH_TOKEN": "token"})
    secret = {stem: set(generated[f"{stem}.secret.env"]) for stem in ("auth", "resource", "team")}
    plain = {stem: set(generated[f"{stem}.env"]) for stem in ("auth", "resource", "team")}
    for stem in secret:
        assert not secret[stem] & plain[stem]
    assert {"AS_SECRET_KEY", "AS_DATABASE_URL", "OIDC_RSA_PRIVATE_KEY"} <= secret["auth"]
    assert "OIDC_RSA_PRIVATE_KEYS_INACTIVE" in secret["auth"]
    # The seed's: the APIs' client secrets, the introspection token, the demo identities' secrets.
    assert {"OAUTH_RS_CLIENT_SECRET", "OAUTH_RS_TEAM_CLIENT_SECRET", "OAUTH_RS_INTROSPECTION_TOKEN"} <= secret["auth"]
    assert {"DEMO_PASSWORD", "DEMO_CLIENT_SECRET", "DEMO_WEB_CLIENT_SECRET"} <= secret["auth"]
    api_secrets = {
        "RS_SECRET_KEY",
        "RS_DATABASE_URL",
        "RS_CACHE_URL",
        "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS",
        "RESOURCE_SERVER_AUTH_TOKEN",
    }
    assert secret["resource"] == api_secrets
    assert secret["team"] == api_secrets
    # Every value shared.dotenv generates is in a Secret, wherever it lands.
    every_plain_value = {value for stem in plain for value in generated[f"{stem}.env"].values()}
    for name in GENERATED:
        assert dotenv[name] not in every_plain_value, name
    assert {"OAUTH_ISSUER", "DJANGO_HTTPS", "RESOURCE_SERVER_SCOPES", "OAUTH_RS_CLIENT_ID"} <= plain["auth"]


def test_each_api_sees_its_own_variables_only(dotenv):
    values = {**dotenv, "RS_CORS_ALLOWED_ORIGINS": "https://notes.example", "AS_LOGIN_FAILURE_LIMIT": "7"}
    generated = files("local", values)
    resource, team = merged(generated, "resource"), merged(generated, "team")
    assert resource["RS_CORS_ALLOWED_ORIGINS"] == "https://notes.example"
    assert team["RS_CORS_ALLOWED_ORIGINS"] == ""
    assert not any(name.startswith(("AS_", "OAUTH_", "OIDC_", "DEMO_")) for name in {**resource, **team})
    # The AS's seed registers the first API: its identifier, scopes and notices' endpoint, nothing else of it.
    assert {name for name in merged(generated, "auth") if name.startswith(("RS_", "RESOURCE_SERVER_"))} == {
        "RESOURCE_SERVER_RESOURCE",
        "RESOURCE_SERVER_SCOPES",
        "RESOURCE_SERVER_EVENTS_ENDPOINT",
    }
    # The database passwords are PostgreSQL's alone: each server gets its URL.
    for stem in ("auth", "resource", "team"):
        assert not any(name.endswith("DB_PASSWORD") for name in merged(generated, stem))


def test_team_variables_lose_their_prefix_and_win(dotenv):
    values = {**dotenv, "TEAM_RESOURCE_SERVER_SCOPES": "team:a", "LOG_LEVEL": "WARNING", "TEAM_LOG_LEVEL": "DEBUG"}
    team = merged(files("local", values), "team")
    assert not any(name.startswith("TEAM_") for name in team)
    assert team["RESOURCE_SERVER_SCOPES"] == "team:a"
    assert team["RESOURCE_SERVER_SCOPE_PREFIX"] == "team:"
    assert team["RESOURCE_SERVER_CLIENT_ID"] == dotenv["TEAM_RESOURCE_SERVER_CLIENT_ID"]
    assert team["RS_SECRET_KEY"] == dotenv["TEAM_RS_SECRET_KEY"]
    assert team["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"] == dotenv["TEAM_RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"]
    # compose.yaml's x-api-environment gives both APIs .env's LOG_LEVEL: TEAM_LOG_LEVEL is no Compose variable.
    assert team["LOG_LEVEL"] == "WARNING"


def test_team_api_reads_the_shared_api_variables_under_their_own_names(dotenv):
    values = {
        **dotenv,
        "RESOURCE_SERVER_INTROSPECTION_TIMEOUT": "9",
        "WEB_CONCURRENCY": "3",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
        "TEAM_RESOURCE_SERVER_INTROSPECTION_TIMEOUT": "11",
        "TEAM_WEB_CONCURRENCY": "5",
        "TEAM_LOG_FORMAT": "json",
    }
    generated = files("local", values)
    for stem in ("resource", "team"):
        assert generated[f"{stem}.env"]["RESOURCE_SERVER_INTROSPECTION_TIMEOUT"] == "9", stem
        assert generated[f"{stem}.env"]["WEB_CONCURRENCY"] == "3", stem
        assert generated[f"{stem}.env"]["LOG_LEVEL"] == "WARNING", stem
        assert generated[f"{stem}.env"]["LOG_FORMAT"] == "text", stem


def test_shared_api_variables_are_compose_x_api_environment():
    """The names compose.yaml's x-api-environment reads from .env under the name it sets."""
    shared = yaml.safe_load(COMPOSE)["x-api-environment"]
    read_as_named = {name for name, value in shared.items() if f"${{{name}:" in str(value)}
    assert read_as_named == set(kubernetes.SHARED_API_VARIABLES)


def test_client_id_falls_back_to_the_seeded_client(dotenv):
    values = {**dotenv, "RESOURCE_SERVER_CLIENT_ID": "", "TEAM_RESOURCE_SERVER_CLIENT_ID": ""}
    generated = files("local", values)
    assert generated["resource.env"]["RESOURCE_SERVER_CLIENT_ID"] == dotenv["OAUTH_RS_CLIENT_ID"]
    assert generated["team.env"]["RESOURCE_SERVER_CLIENT_ID"] == dotenv["OAUTH_RS_TEAM_CLIENT_ID"]


def test_write_fills_the_output_folder(dotenv, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in dotenv.items()))
    output = tmp_path / "generated"
    assert kubernetes.main(["local", str(env_file), "--output", str(output)]) == 0
    names = {path.name for path in output.iterdir()}
    assert names == {
        "auth.env",
        "auth.secret.env",
        "resource.env",
        "resource.secret.env",
        "team.env",
        "team.secret.env",
        "deployment.env",
        "postgres.secret.env",
        "redis.conf",
        "10-databases.sh",
    }
    assert (output / "10-databases.sh").read_text() == kubernetes.INITDB_SCRIPT.read_text()
    assert (output / "redis.conf").read_text() == f'requirepass {dotenv["REDIS_PASSWORD"]}\nsave ""\nappendonly no\n'
    for name in ("auth.secret.env", "postgres.secret.env", "redis.conf"):
        assert (output / name).stat().st_mode & 0o077 == 0, name
    assert kubernetes.read_dotenv(output / "auth.env")["OAUTH_ISSUER"] == "http://auth.localhost"


def test_a_refusal_is_one_line_on_stderr(dotenv, tmp_path, capsys):
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in dotenv.items()))
    assert kubernetes.main(["production", str(env_file), "--output", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("shared.kubernetes: ")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "urls",
    [
        # base/ingress.yaml's three rules would share one host, each with the path "/".
        {
            "OAUTH_ISSUER": "https://example.org",
            "RESOURCE_SERVER_RESOURCE": "https://example.org/api/",
            "TEAM_RESOURCE_SERVER_RESOURCE": "https://example.org/team/",
        },
        # Two APIs on one host: the Ingress cannot route it to both Services.
        {"TEAM_RESOURCE_SERVER_RESOURCE": "https://API.example.org/"},
        # The AS and an API on one host.
        {"RESOURCE_SERVER_RESOURCE": "https://auth.example.org/notes/"},
    ],
    ids=["one-host", "apis-share-a-host", "as-and-api-share-a-host"],
)
@pytest.mark.parametrize("overlay", ["local", "production"])
def test_refuses_two_public_urls_on_one_host(dotenv, urls, overlay):
    values = {**dotenv, **PUBLIC, **urls}
    if overlay == "local":
        values = {name: value.replace("https://", "http://") for name, value in values.items()}
    message = refusal(overlay, values)
    assert "host" in message and any(name in message for name in urls), message


@pytest.mark.parametrize("url", ["https://example.org/auth", "https://example.org/auth/", "https://auth.example.org//"])
def test_production_refuses_an_issuer_with_a_path(dotenv, url):
    # The APIs would introspect at <issuer>/o/introspect/, which the Ingress passes to the AS
    # unchanged (no rewrite): the AS answers at /o/introspect/ only.
    assert "OAUTH_ISSUER" in refusal("production", {**dotenv, **PUBLIC, "OAUTH_ISSUER": url})


@pytest.mark.parametrize("name", ["OAUTH_ISSUER", "RESOURCE_SERVER_RESOURCE", "TEAM_RESOURCE_SERVER_RESOURCE"])
def test_production_refuses_a_port_the_ingress_does_not_listen_on(dotenv, name):
    url = PUBLIC[name].replace(".org", ".org:8443")
    assert name in refusal("production", {**dotenv, **PUBLIC, name: url})


def test_production_takes_an_issuer_with_a_trailing_slash(dotenv):
    generated = files("production", {**dotenv, **PUBLIC, "OAUTH_ISSUER": "https://auth.example.org/"})
    assert generated["auth.env"]["OAUTH_ISSUER"] == "https://auth.example.org"


def written_dotenv(tmp_path: Path, dotenv: dict[str, str], *lines: str) -> Path:
    """A .env with ``dotenv``'s variables, then ``lines`` as written."""
    path = tmp_path / ".env"
    path.write_text(
        "".join(f"{name}={value}\n" for name, value in dotenv.items()) + "".join(f"{line}\n" for line in lines)
    )
    return path


def test_dotenv_is_read_as_the_servers_read_it(dotenv, tmp_path):
    path = written_dotenv(
        tmp_path,
        dotenv,
        "# a comment line",
        "export LOG_LEVEL=WARNING",
        "RESOURCE_SERVER_SCOPES='read write'",
        'TEAM_RESOURCE_SERVER_SCOPES="team:read team:write"',
        "DEMO_USERNAME=demo#1",
    )
    values = kubernetes.read_dotenv(path)
    assert values["LOG_LEVEL"] == "WARNING"
    assert values["RESOURCE_SERVER_SCOPES"] == "read write"
    assert values["TEAM_RESOURCE_SERVER_SCOPES"] == "team:read team:write"
    # No space before #: part of the value, for Compose as for the servers.
    assert values["DEMO_USERNAME"] == "demo#1"


@pytest.mark.parametrize(
    ("line", "name"),
    [
        # Compose drops the comment, the servers (django-environ) keep it: LOG_LEVEL "WARNING # quieter".
        ("LOG_LEVEL=WARNING # quieter in a cluster", "LOG_LEVEL"),
        ('RESOURCE_SERVER_SCOPES="read write" # the first API', "RESOURCE_SERVER_SCOPES"),
        # Compose trims an unquoted value, the servers do not.
        ("LOG_FORMAT=json ", "LOG_FORMAT"),
        # Compose reads ${...} and $NAME as another variable, the servers as the characters.
        ("AS_CSRF_TRUSTED_ORIGINS=${OAUTH_ISSUER}", "AS_CSRF_TRUSTED_ORIGINS"),
        ("DEMO_USERNAME='$demo'", "DEMO_USERNAME"),
        # A double-quoted escape: Compose's and django-environ's differ (\n: a line break or not).
        ('DEMO_USERNAME="demo\\nuser"', "DEMO_USERNAME"),
        # A line the servers skip, which Compose reads.
        ("LOG_LEVEL = WARNING", "LOG_LEVEL"),
    ],
)
def test_dotenv_values_compose_and_the_servers_read_apart_are_refused(dotenv, tmp_path, capsys, line, name):
    path = written_dotenv(tmp_path, dotenv, line)
    with pytest.raises(kubernetes.Refused) as refused:
        kubernetes.read_dotenv(path)
    assert name in str(refused.value) and "\n" not in str(refused.value)
    assert kubernetes.main(["local", str(path), "--output", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.count("\n") == 1
