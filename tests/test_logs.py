"""The servers' logs: one JSON object a line, no flood during an outage, no secret at any level.

The unit tests of shared/logging.py come first, then the running servers'.
"""

import io
import logging
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from gunicorn.config import Config
from gunicorn.http.errors import InvalidRequestLine
from gunicorn.workers.base import Worker

from shared import logging as shared_logging
from shared.gunicorn_logging import Logger
from shared.logging import ACCESS_FIELDS, FIELDS, JsonLines, ServiceUnavailableOncePerInterval, log_format
from shared.request_id import RequestIdFilter
from shared.serve import SERVERS
from shared.settings import dotenv_values

from .log_records import access, eventually, records
from .oauth import Client, bearer
from .raw_http import send
from .stack import (
    LOG_FILES,
    ROOT,
    SECRETS,
    Server,
    compose,
    free_port,
    manage,
    remember_environment,
    remember_secret,
    resource_server_environment,
    seed_secrets,
    start_stack,
)

KEYS = set(FIELDS.values())
REQUESTS_DURING_THE_OUTAGE = 20
# A cookie or a Cookie header, whatever its value.
COOKIE = re.compile(r"sessionid=|csrftoken=|\bcookie:", re.IGNORECASE)


def formatted(record: logging.LogRecord) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    handler.addFilter(RequestIdFilter())
    handler.handle(record)
    return stream.getvalue()


def record(message: str = "hello %s", args=("world",), level=logging.INFO, **extra) -> logging.LogRecord:
    made = logging.LogRecord("django.request", level, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_json_line_has_the_fields_and_nothing_a_record_carries_besides():
    # django.request's records carry the request, whose repr names the query string.
    line = formatted(record(request="<WSGIRequest: GET '/api/me/?access_token=secret-token'>", status_code=401))

    [parsed] = records(line)
    assert line.count("\n") == 1
    assert set(parsed) == KEYS
    assert parsed["message"] == "hello world" and parsed["logger"] == "django.request"
    assert parsed["request_id"] == "-" and parsed["level"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", parsed["time"])
    assert "secret-token" not in line


def test_a_json_line_keeps_its_traceback_on_the_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record(exc_info=sys.exc_info())

    line = formatted(failed)

    assert line.count("\n") == 1
    assert "ValueError: boom" in records(line)[0]["exc_info"]


def test_503s_are_written_once_per_interval_with_the_count_held_back(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(shared_logging.time, "monotonic", lambda: now[0])
    throttle = ServiceUnavailableOncePerInterval(interval=60)

    def unavailable():
        return record("%s: %s", ("Service Unavailable", "/api/me/"), logging.ERROR, status_code=503)

    passed = [made for made in (unavailable() for _ in range(20)) if throttle.filter(made)]
    assert len(passed) == 1 and passed[0].getMessage() == "Service Unavailable: /api/me/"
    # Other statuses are never held back.
    assert throttle.filter(record("%s: %s", ("Internal Server Error", "/api/me/"), logging.ERROR, status_code=500))

    now[0] += 60
    after = unavailable()
    assert throttle.filter(after)
    assert after.getMessage() == "Service Unavailable: /api/me/ (19 similar since the last report)"


@pytest.mark.parametrize(
    ("settings", "variable", "expected"),
    [
        ("config.settings.production", "", "json"),
        ("config.settings.local", "", "plain"),
        ("config.settings.production", "plain", "plain"),
        ("config.settings.local", "JSON", "json"),
    ],
)
def test_the_format_follows_the_settings_unless_log_format_says(monkeypatch, settings, variable, expected):
    monkeypatch.setenv("LOG_FORMAT", variable)
    assert log_format(settings) == expected


def test_an_unknown_log_format_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "yaml")
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT must be json or plain"):
        log_format("config.settings.production")


def gunicorn_logger(monkeypatch, log_format: str) -> tuple[Logger, io.StringIO]:
    """gunicorn's logger as the servers set it up, its error and access lines written to one stream."""
    monkeypatch.setenv("LOG_FORMAT", log_format)
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", '%(U)s "%(r)s"')
    logger = Logger(config)
    stream = io.StringIO()
    for handler in logger.error_log.handlers + logger.access_log.handlers:
        handler.setStream(stream)
    return logger, stream


@pytest.mark.parametrize("log_format", ["json", "plain"])
def test_gunicorn_names_a_request_it_cannot_parse_by_the_error_and_the_client_only(monkeypatch, log_format):
    """gunicorn's own line for a malformed request quotes the request line, token and all; ours does not.

    Worker.handle_error is gunicorn's, called as its workers call it: inside the
    ``except`` block, with the parser's exception.
    """
    logger, stream = gunicorn_logger(monkeypatch, log_format)
    worker = SimpleNamespace(log=logger, cfg=logger.cfg)
    answered, client = socket.socketpair()
    try:
        raise InvalidRequestLine("GET /api/me/?q=a b&access_token=secret-token HTTP/1.1")
    except InvalidRequestLine as error:
        Worker.handle_error(worker, None, client, ("203.0.113.7", 50000), error)
    finally:
        answered.close()
        client.close()

    assert "secret-token" not in stream.getvalue()
    assert "Invalid request from ip=203.0.113.7: InvalidRequestLine" in stream.getvalue()


def test_gunicorn_names_a_request_the_application_failed_on_by_its_path(monkeypatch):
    """gunicorn's line for an exception that reached it names the request's target, query string included."""
    logger, stream = gunicorn_logger(monkeypatch, "json")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("Error handling request %s %s", "GET", "/api/me/?access_token=secret-token")

    assert "secret-token" not in stream.getvalue()
    assert "Error handling request GET /api/me/" in stream.getvalue()


@pytest.mark.parametrize("log_format", ["json", "plain"])
def test_an_access_line_masks_a_password_reset_token_in_the_path_and_the_request_line(monkeypatch, log_format):
    """A reset link's token sets the user's password: the path it comes in on is written without it."""
    logger, stream = gunicorn_logger(monkeypatch, log_format)
    target = "/accounts/reset/MQ/cdx4ab-0123456789abcdef0123456789abcdef/"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": target,
        "PATH_INFO": target,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    answer = SimpleNamespace(status="302 Found", headers=[], sent=0)

    logger.access(answer, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=3))
    # The view redirects to Django's placeholder, which names no secret and stays readable.
    placeholder = {"PATH_INFO": "/accounts/reset/MQ/set-password/"}
    logger.access(answer, SimpleNamespace(headers=[]), environ | placeholder, timedelta(milliseconds=3))

    assert "0123456789abcdef" not in stream.getvalue()
    assert "/accounts/reset/MQ/<token>/" in stream.getvalue()
    assert "/accounts/reset/MQ/set-password/" in stream.getvalue()


def test_no_level_lets_the_credential_loggers_write_debug_lines():
    """DOT, oauthlib and the SQL log write codes, raw requests and session keys at DEBUG.

    NOTSET lets more through than DEBUG: it must be capped at INFO like DEBUG is.
    """
    for level in ("DEBUG", "NOTSET"):
        configured = shared_logging.logging_config(level, "json")["loggers"]
        for name in ("oauth2_provider", "oauthlib", "django.db.backends"):
            assert logging.getLevelNamesMapping()[configured[name]["level"]] >= logging.INFO, (level, name)


# --- The running servers ---


def server_logs(stack) -> dict[str, str]:
    """Each server's log: its file here, ``docker compose logs`` under Compose."""
    if stack.compose_project:
        return {"compose": stack.logs()}
    return {server.log.name: server.log.read_text() for server in stack.servers}


def test_every_line_of_both_servers_is_one_json_object_naming_its_request(client, stack):
    token = client.client_credentials_token()
    answer = client.api("/api/me/", token)
    assert answer.status_code == 200

    for name, text in server_logs(stack).items():
        lines = [line for line in text.splitlines() if line.strip()]
        # Under Compose each line starts with the service's name.
        assert len(records(text)) == len(lines), f"{name}: lines that are no JSON object"
        assert all(set(line) >= KEYS for line in records(text)), name
    joined = answer.headers["X-Request-ID"]
    [line] = eventually(lambda: access(stack.logs(), "GET", "/api/me/", request_id=joined))
    assert set(ACCESS_FIELDS) <= set(line) and line["status"] == 200 and line["bytes"] > 0
    assert line["message"] == '"GET /api/me/ HTTP/1.1" 200'


def test_an_access_line_never_names_the_query_string(client, stack):
    token = client.client_credentials_token()

    refused = client.api(f"/api/me/?access_token={token}")

    assert refused.status_code == 400
    [line] = eventually(lambda: access(stack.logs(), "GET", "/api/me/", request_id=refused.headers["X-Request-ID"]))
    assert line["path"] == "/api/me/" and token not in stack.logs()


@pytest.mark.local_stack
@pytest.mark.parametrize(
    ("settings", "variable", "json_lines"),
    [("config.settings.local", "", False), ("config.settings.production", "plain", False)]
    + [("config.settings.local", "json", True)],
)
def test_make_run_writes_plain_lines_and_log_format_chooses(resource_server, settings, variable, json_lines):
    server = resource_server(DJANGO_SETTINGS_MODULE=settings, LOG_FORMAT=variable)
    requests.get(f"{server.url}/api/me/", timeout=15)
    server.stop()

    lines = [line for line in server.log.read_text().splitlines() if line.strip()]
    written = records(server.log.read_text())
    assert any("Booting worker" in line for line in lines)  # gunicorn's own lines follow it too
    assert any("Unauthorized: /api/me/" in line for line in lines)  # and Django's
    if json_lines:
        assert len(written) == len(lines)
    else:
        assert not written
        assert any('"GET /api/me/ HTTP/1.1" 401' in line and " request_id=" in line for line in lines)


@pytest.mark.local_stack
def test_an_unknown_log_format_stops_the_server_with_one_line(stack):
    env = resource_server_environment(stack.auth_url, stack.mode, stack.secrets, "sqlite://", LOG_FORMAT="yaml")
    env[SERVERS["resource"].metrics_port_variable] = str(free_port())  # as Server gives one
    command = [sys.executable, "-m", "shared.serve", "resource"]

    ran = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert ran.returncode != 0
    assert "configuration error: LOG_FORMAT must be json or plain" in ran.stderr + ran.stdout
    assert "Traceback" not in ran.stderr + ran.stdout


@pytest.mark.local_stack
def test_an_outage_of_the_as_is_logged_once_per_interval_not_once_per_request():
    folder = tempfile.mkdtemp(prefix="rs-outage-")
    dead = f"http://127.0.0.1:{free_port()}/o/introspect/"
    env = resource_server_environment(
        dead, "credentials", seed_secrets(), f"sqlite:///{folder}/rs.sqlite3", RESOURCE_SERVER_INTROSPECTION_URL=dead
    )
    manage("resource_server", "migrate", "--no-input", env=env)
    server = Server("resource", env, int(env["RS_PORT"]))
    server.start()
    try:
        for _ in range(REQUESTS_DURING_THE_OUTAGE):
            # A token nobody has cached: every request asks the AS, which is down.
            response = requests.get(f"{server.url}/api/me/", headers=bearer(secrets.token_urlsafe(32)), timeout=15)
            assert response.status_code == 503
    finally:
        server.stop()

    written = records(server.log.read_text())
    unavailable = [line for line in written if line["message"].startswith("Service Unavailable: /api/me/")]
    outage = [line for line in written if line["message"].startswith("introspection failed")]
    # Each worker writes the first 503 of an interval, and the outage; the others are counted, not written.
    workers = int(env["WEB_CONCURRENCY"])
    assert 1 <= len(unavailable) <= workers, unavailable
    assert 1 <= len(outage) <= workers, outage
    assert all(line["level"] == "ERROR" and line["request_id"] != "-" for line in unavailable)
    assert len(access(server.log.read_text(), "GET", "/api/me/", status=503)) == REQUESTS_DURING_THE_OUTAGE


# --- No secret in any log ---


def leaked(text: str) -> list[str]:
    """The kinds of secret ``text`` holds (never the secrets: a report must not print them)."""
    kinds = {kind for value, kind in list(SECRETS.items()) if value in text}
    if COOKIE.search(text):
        kinds.add("a cookie")
    return sorted(kinds)


def leaks(logs: dict[str, str]) -> dict[str, list[str]]:
    return {name: kinds for name, text in logs.items() if (kinds := leaked(text))}


def test_the_grep_names_the_log_and_the_kind_of_secret_never_the_secret():
    token = secrets.token_urlsafe(32)
    remember_secret("access_token", token)

    found = leaks({"auth.log": f"x {token} y", "resource.log": "no secret", "proxy.log": "Cookie: sessionid=abc"})

    assert found == {"auth.log": ["access_token"], "proxy.log": ["a cookie"]}
    assert token not in repr(found)


@pytest.mark.local_stack
@pytest.mark.parametrize(
    ("target", "header"),
    [
        # An unencoded space in the query: gunicorn takes what follows for the version.
        ("/api/me/?q=a b&access_token={token}", "Accept: */*"),
        # A byte outside VCHAR in the target: the whole request line is quoted.
        ("/api/me/?access_token={token}&q=caf\xe9", "Accept: */*"),
        # A header line without its colon: the whole line is quoted.
        ("/api/me/", "Authorization Bearer {token}"),
    ],
    ids=["space-in-query", "non-ascii-target", "header-without-colon"],
)
def test_a_request_gunicorn_cannot_parse_leaves_its_token_out_of_the_error_log(client, stack, target, header):
    """gunicorn answers 400 and logs why, quoting the line it could not parse: the token must not follow."""
    token = client.client_credentials_token()

    answer = send(stack.resource_url, "GET", target.format(token=token), [header.format(token=token)])

    assert answer.status == 400
    assert eventually(lambda: [line for line in records(stack.logs()) if "Invalid request from" in line["message"]])
    # Which lines, by logger and the start of their message: never the token itself.
    leaking = [(line["logger"], line["message"][:40]) for line in records(stack.logs()) if token in str(line)]
    assert not leaking, leaking


MAKE_RESET_LINK = (
    "from django.contrib.auth import get_user_model\n"
    "from django.contrib.auth.tokens import default_token_generator\n"
    "from django.utils.encoding import force_bytes\n"
    "from django.utils.http import urlsafe_base64_encode\n"
    "user = get_user_model().objects.filter(is_active=True).exclude(password='').order_by('pk').first()\n"
    "print(urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user))\n"
)


@pytest.mark.local_stack
def test_a_password_reset_token_is_in_no_log_line(stack):
    """A reset link's token sets the user's password until used or PASSWORD_RESET_TIMEOUT (three days) passes.

    Django's PasswordResetConfirmView moves it from the path into the session at
    once; gunicorn's access line still names the path it came in on.
    """
    uid, token = stack.auth_manage("shell", "-c", MAKE_RESET_LINK).split()[-2:]

    opened = requests.get(f"{stack.auth_url}/accounts/reset/{uid}/{token}/", allow_redirects=False, timeout=15)

    assert opened.status_code == 302 and opened.headers["Location"].endswith("/set-password/")
    assert SECRETS.get(token) == "password reset token"  # the suite's grep looks for it too
    assert eventually(lambda: access(stack.logs(), "GET", f"/accounts/reset/{uid}/<token>/", status=302))
    leaking = [(line["logger"], line.get("status")) for line in records(stack.logs()) if token in str(line)]
    assert not leaking, leaking


@pytest.mark.local_stack
def test_no_authorization_code_in_the_logs_at_notset():
    """LOG_LEVEL=NOTSET lets every record through: DOT's DEBUG lines name the code it redirects with."""
    stack = start_stack("credentials", "sqlite", every_server={"LOG_LEVEL": "NOTSET"})
    try:
        Client(stack).authorization_code_tokens()  # a sign-in, a consent, a code
    finally:
        stack.stop()

    codes = [value for value, kind in SECRETS.items() if kind == "authorization code"]
    assert codes
    logs = "".join(server.log.read_text() for server in stack.servers)
    leaked = sum(code in logs for code in codes)  # a count: the assertion must not print a code
    assert leaked == 0, f"{leaked} authorization code(s) in the logs at LOG_LEVEL=NOTSET"


@pytest.mark.local_stack
def test_no_secret_in_the_logs_at_debug_level():
    debug = {"LOG_LEVEL": "DEBUG", "GUNICORN_LOG_LEVEL": "debug"}
    stack = start_stack("credentials", "sqlite", every_server=debug)
    try:
        client = Client(stack)
        token = client.client_credentials_token()
        assert client.api("/api/me/", token).status_code == 200  # the RS introspects it
        assert client.introspect(token).json()["active"] is True
        tokens = client.authorization_code_tokens()  # a sign-in, a consent, a code
        assert client.refresh(tokens["refresh_token"]).status_code == 200
        assert client.revoke(tokens["access_token"]).status_code == 200
    finally:
        stack.stop()

    # What the grep looks for: the tokens, the code, the session, the servers' secrets.
    wanted = {"access_token", "refresh_token", "authorization code", "sessionid cookie", "csrftoken cookie"}
    wanted |= {"AS_SECRET_KEY", "RS_SECRET_KEY", "DEMO_PASSWORD", "OAUTH_RS_CLIENT_SECRET", "OIDC_RSA_PRIVATE_KEY"}
    assert wanted <= set(SECRETS.values())
    logs = {server.log.name: server.log.read_text() for server in stack.servers}
    assert any(line["level"] == "DEBUG" for text in logs.values() for line in records(text))
    found = leaks(logs)  # by name: an assertion on leaks(logs) would print the logs
    assert not found, "secrets in these logs (the kinds, not the values)"


@pytest.mark.after_the_suite
def test_no_log_of_the_suite_holds_a_secret():
    """Every server log the suite wrote, grepped for every secret the suite knows and every credential it got."""
    logs = {str(path): path.read_text(errors="replace") for path in dict.fromkeys(LOG_FILES)}
    if os.environ.get("E2E_COMPOSE_PROJECT"):
        remember_environment(dotenv_values(Path(os.environ["E2E_ENV_FILE"])))
        remember_environment({name: os.environ[name] for name in seed_secrets() if name in os.environ})
        logs["docker compose logs"] = compose("logs", "--no-color").stdout
    if not logs:
        pytest.skip("no server ran before this test")

    assert SECRETS, "no secret known: nothing to look for"
    found = leaks(logs)  # by name: an assertion on leaks(logs) would print the logs
    assert not found, "secrets in these logs (the kinds, not the values)"
