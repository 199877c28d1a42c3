"""``make env``: ``python3 -m shared.dotenv .env.example .env``, on the standard library alone.

Every run here uses ``python -S`` (no site-packages), as on a machine with no
virtual environment yet, in a temporary folder holding a copy of .env.example.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.settings import dotenv_values

from .stack import ROOT

SECRETS = (
    "AS_SECRET_KEY",
    "RS_SECRET_KEY",
    "TEAM_RS_SECRET_KEY",
    "OAUTH_RS_CLIENT_SECRET",
    "OAUTH_RS_TEAM_CLIENT_SECRET",
    "DEMO_PASSWORD",
    "POSTGRES_PASSWORD",
)
# Each API introspects as its own client (shared.dotenv.CREDENTIALS).
CREDENTIALS = {
    "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": ("OAUTH_RS_CLIENT_ID", "OAUTH_RS_CLIENT_SECRET"),
    "TEAM_RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": ("OAUTH_RS_TEAM_CLIENT_ID", "OAUTH_RS_TEAM_CLIENT_SECRET"),
}
# The aud of each API's signed introspection answers (RFC 9701 §5), and what asks for them.
CLIENT_IDS = {
    "RESOURCE_SERVER_CLIENT_ID": "OAUTH_RS_CLIENT_ID",
    "TEAM_RESOURCE_SERVER_CLIENT_ID": "OAUTH_RS_TEAM_CLIENT_ID",
}
SIGNED = ("RESOURCE_SERVER_INTROSPECTION_SIGNED", "TEAM_RESOURCE_SERVER_INTROSPECTION_SIGNED")

# Runs shared.dotenv as ``python -m`` does, under an audit hook (PEP 578) that
# records how files in the folder are created, linked, renamed and chmod-ed.
AUDITED = """
import json, os, runpy, sys
os.umask(0)
folder = os.getcwd() + os.sep
events = []
def here(path):
    # An int is a file descriptor (os.fchmod): it may be one of ours.
    return isinstance(path, int) or os.path.abspath(os.fsdecode(path)).startswith(folder)
def record(event, args):
    if event == "open" and not isinstance(args[0], int) and here(args[0]):
        events.append([event, os.path.basename(os.fsdecode(args[0])), args[2]])
    elif event == "os.chmod" and here(args[0]):
        events.append([event, str(args[0]), oct(args[1])])
    elif event in ("os.link", "os.rename") and (here(args[0]) or here(args[1])):
        events.append([event, os.fsdecode(args[0]), os.fsdecode(args[1])])
sys.addaudithook(record)
sys.argv = ["shared.dotenv", ".env.example", ".env"]
try:
    runpy.run_module("shared.dotenv", run_name="__main__", alter_sys=True)
finally:
    recorded, events = list(events), []
    sys.stderr.write("EVENTS " + json.dumps(recorded) + "\\n")
"""

# Many runs at once: each imports shared.dotenv, waits for the start file, then
# runs what ``python -m shared.dotenv ARGUMENTS...`` runs.
TOGETHER = """
import os, sys, time
import shared.dotenv
while not os.path.exists(sys.argv[1]):
    time.sleep(0.0005)
sys.exit(shared.dotenv.main(*sys.argv[2:]))
"""


@pytest.fixture
def folder(tmp_path):
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    return tmp_path


def environment() -> dict:
    return {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT)}


def make_env(folder: Path, *python_args: str) -> subprocess.CompletedProcess:
    arguments = python_args or ("-m", "shared.dotenv", ".env.example", ".env")
    return subprocess.run(
        [sys.executable, "-S", *arguments],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def values(dotenv: Path) -> dict:
    lines = dotenv.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def assert_complete(dotenv: Path) -> None:
    written = values(dotenv)
    assert set(values(dotenv.parent / ".env.example")) <= set(written)
    assert all(len(written[name]) >= 16 for name in SECRETS), written
    assert len({written[name] for name in SECRETS}) == len(SECRETS)
    for variable, (client_id, client_secret) in CREDENTIALS.items():
        assert written[variable] == f"{written[client_id]}:{written[client_secret]}"
    assert written["OAUTH_RS_CLIENT_ID"] != written["OAUTH_RS_TEAM_CLIENT_ID"]
    assert {variable: written[variable] for variable in CLIENT_IDS} == {
        variable: written[client_id] for variable, client_id in CLIENT_IDS.items()
    }
    assert [written[variable] for variable in SIGNED] == ["true", "true"]


def test_dotenv_is_created_0600_by_one_exclusive_open_and_linked_whole_into_place(folder):
    result = make_env(folder, "-c", AUDITED)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "wrote .env with generated secrets.\n"
    events = json.loads(result.stderr.rpartition("EVENTS ")[2])
    created = [event for event in events if event[0] == "open" and event[2] & os.O_CREAT]
    # One creation, exclusive, and not of .env itself: .env appears only complete.
    assert len(created) == 1, events
    assert created[0][2] & os.O_EXCL, events
    assert created[0][1] != ".env", events
    moves = [(event[0], Path(event[1]).name, Path(event[2]).name) for event in events if event[0] != "open"]
    assert moves == [("os.link", created[0][1], ".env")], events
    # Under umask 0 and without a chmod, 0600 can only come from the creating open.
    dotenv = folder / ".env"
    assert stat.S_IMODE(dotenv.lstat().st_mode) == 0o600
    assert stat.S_ISREG(dotenv.lstat().st_mode)
    assert sorted(path.name for path in folder.iterdir()) == [".env", ".env.example"]
    assert_complete(dotenv)


def test_a_dangling_symlink_is_refused_and_its_target_is_not_created(folder):
    (folder / "elsewhere").mkdir()
    target = folder / "elsewhere" / "secrets.env"
    (folder / ".env").symlink_to(target)

    result = make_env(folder)

    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f".env is a symlink to {target}, which does not exist"), lines[0]
    assert not target.exists()
    assert not os.listdir(folder / "elsewhere")
    assert (folder / ".env").is_symlink()
    assert sorted(path.name for path in folder.iterdir()) == [".env", ".env.example", "elsewhere"]


@pytest.mark.parametrize("kind", ["file", "symlink to a file"])
def test_an_existing_dotenv_is_never_overwritten(folder, kind):
    kept = folder / ("kept.env" if kind == "symlink to a file" else ".env")
    kept.write_text("AS_SECRET_KEY=kept\n")
    kept.chmod(0o640)
    if kind == "symlink to a file":
        (folder / ".env").symlink_to(kept)

    result = make_env(folder)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ".env exists; leaving it as it is.\n"
    assert result.stderr == ""
    assert kept.read_text() == "AS_SECRET_KEY=kept\n"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    assert not [path for path in folder.iterdir() if path.name.endswith(".tmp")]


def together(folder: Path, *arguments: str, runs: int = 8) -> list[tuple[int, str, str]]:
    """``runs`` runs of ``python -m shared.dotenv ARGUMENTS...`` started at once: (exit code, stdout, stderr)."""
    start = folder / "start"
    started = [
        subprocess.Popen(
            [sys.executable, "-S", "-c", TOGETHER, str(start), *arguments],
            cwd=folder,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(runs)
    ]
    time.sleep(1)  # every interpreter is up and waiting
    start.touch()
    return [(run.wait(timeout=60), *run.communicate()) for run in started]


def test_runs_started_together_write_once(folder):
    results = together(folder, ".env.example", ".env")

    assert [code for code, _, _ in results] == [0] * 8, results
    assert [err for _, _, err in results] == [""] * 8
    outputs = sorted(out for _, out, _ in results)
    assert outputs == [".env exists; leaving it as it is.\n"] * 7 + ["wrote .env with generated secrets.\n"]
    dotenv = folder / ".env"
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
    assert sorted(path.name for path in folder.iterdir()) == [".env", ".env.example", "start"]
    assert_complete(dotenv)


def test_a_shell_reads_dotenv_as_the_servers_do(folder):
    """make run's demo command and make test-compose source .env: a value with spaces is quoted."""
    assert make_env(folder).returncode == 0
    script = 'set -a; . ./.env; printf "%s\\n" "$RESOURCE_SERVER_SCOPES" "$TEAM_RESOURCE_SERVER_SCOPES"'

    result = subprocess.run(["bash", "-c", script], cwd=folder, env=environment(), capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == ["read write notes", "team:read team:write team:notes"]
    servers = dotenv_values(folder / ".env")
    assert result.stdout.splitlines() == [servers["RESOURCE_SERVER_SCOPES"], servers["TEAM_RESOURCE_SERVER_SCOPES"]]


def add_missing(folder: Path, older: str) -> dict:
    (folder / ".env").write_text(older)
    result = make_env(folder, "-m", "shared.dotenv", "--add-missing")
    assert result.returncode == 0, result.stderr
    return dotenv_values(folder / ".env")


def test_an_older_env_in_token_mode_gets_the_client_id_its_signed_answers_name(folder):
    """Token mode has no client_id of its own: without one, signed answers stop the API from starting."""
    older = (
        "OAUTH_RS_CLIENT_ID=orders-api\nOAUTH_RS_CLIENT_SECRET=s3cret\nOAUTH_RS_TEAM_CLIENT_ID=team-api\n"
        "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS=\nRESOURCE_SERVER_AUTH_TOKEN=t0ken\n"
    )

    written = add_missing(folder, older)

    assert written["RESOURCE_SERVER_CLIENT_ID"] == "orders-api"
    assert written["TEAM_RESOURCE_SERVER_CLIENT_ID"] == "team-api"
    assert written["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"] == ""
    assert written["RESOURCE_SERVER_INTROSPECTION_SIGNED"] == "true"


def test_an_older_env_gets_the_client_id_of_its_credentials_not_the_seeded_one(folder):
    """An API introspecting as another client than the seeded one: a client_id differing from its
    credentials' would stop it from starting."""
    older = (
        "OAUTH_RS_CLIENT_ID=resource-server\nOAUTH_RS_CLIENT_SECRET=s3cret\n"
        'RESOURCE_SERVER_INTROSPECTION_CREDENTIALS="billing:an0ther"\n'
    )

    written = add_missing(folder, older)

    assert written["RESOURCE_SERVER_CLIENT_ID"] == "billing"
    assert written["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"] == "billing:an0ther"


def test_a_copied_template_gets_each_client_id_with_its_credentials(folder):
    shutil.copy(folder / ".env.example", folder / ".env")

    result = make_env(folder, "-m", "shared.dotenv", "--add-missing")

    assert result.returncode == 0, result.stderr
    assert "RESOURCE_SERVER_CLIENT_ID" in result.stdout and "TEAM_RESOURCE_SERVER_CLIENT_ID" in result.stdout
    assert_complete(folder / ".env")


def make_env_target(folder: Path) -> subprocess.CompletedProcess:
    """``make env`` as a user runs it, with the Makefile's own recipe, in ``folder``."""
    return subprocess.run(
        ["make", "--silent", "-f", str(ROOT / "Makefile"), "env", f"PYTHON={sys.executable} -S"],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )


# An .env from before these variables, with a changed port and an API's CORS origin left empty on purpose.
NEWER = ("RS_CORS_ALLOWED_ORIGINS", "TEAM_RS_SECRET_KEY", "REDIS_PASSWORD")


@pytest.fixture
def older(folder) -> bytes:
    assert make_env(folder).returncode == 0
    dotenv = folder / ".env"
    lines = [line for line in dotenv.read_text().splitlines() if line.partition("=")[0] not in NEWER]
    lines = ["# mine", *("AS_PORT=9000" if line.startswith("AS_PORT=") else line for line in lines)]
    lines = ["DEMO_CLIENT_SECRET=" if line.startswith("DEMO_CLIENT_SECRET=") else line for line in lines]
    dotenv.write_text("".join(f"{line}\n" for line in lines))
    return dotenv.read_bytes()


def test_make_env_adds_what_a_newer_template_has_names_it_and_changes_nothing_else(folder, older):
    result = make_env_target(folder)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == f"added to .env: {', '.join(NEWER)}.\n"
    dotenv = folder / ".env"
    assert dotenv.read_bytes().startswith(older)
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
    written = values(dotenv)
    assert len(written["TEAM_RS_SECRET_KEY"]) >= 16 and len(written["REDIS_PASSWORD"]) >= 16
    assert written["TEAM_RS_SECRET_KEY"] != written["RS_SECRET_KEY"]
    assert written["RS_CORS_ALLOWED_ORIGINS"] == ""
    # Emptied on purpose before: still empty (the demo client is then not seeded).
    assert (written["DEMO_CLIENT_SECRET"], written["AS_PORT"]) == ("", "9000")
    assert set(values(folder / ".env.example")) <= set(written)


def test_make_env_never_prints_a_secret(folder, older):
    result = make_env_target(folder)

    secrets = [value for name, value in values(folder / ".env").items() if name in SECRETS or "SECRET" in name]
    secrets += [values(folder / ".env")[name] for name in NEWER[1:]]
    printed = result.stdout + result.stderr
    assert not [secret for secret in secrets if len(secret) >= 8 and secret in printed], printed


def test_make_env_on_a_complete_env_changes_nothing_and_says_so(folder, older):
    assert make_env_target(folder).returncode == 0
    complete = (folder / ".env").read_bytes()

    result = make_env_target(folder)

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == ".env has every variable of .env.example; leaving it as it is.\n"
    assert (folder / ".env").read_bytes() == complete


def test_make_env_without_an_env_writes_one(folder):
    result = make_env_target(folder)

    assert (result.returncode, result.stderr, result.stdout) == (0, "", "wrote .env with generated secrets.\n")
    assert_complete(folder / ".env")


def test_make_env_runs_started_together_on_an_older_env_add_once(folder, older):
    results = together(folder, "--update", ".env.example", ".env")

    assert [(code, err) for code, _, err in results] == [(0, "")] * 8, results
    outputs = sorted(out for _, out, _ in results)
    assert outputs == [".env has every variable of .env.example; leaving it as it is.\n"] * 7 + [
        f"added to .env: {', '.join(NEWER)}.\n"
    ]
    assert values(folder / ".env").keys() >= set(NEWER)
    assert (folder / ".env").read_text().count("REDIS_PASSWORD=") == 1


def test_make_env_on_an_env_of_export_lines_changes_no_value(folder):
    """``export NAME=value``, the form of a .env meant to be sourced by a shell, is an assignment to
    django-environ (what every server reads): read as the name "export NAME", make env added each
    variable again, every secret regenerated, after the old ones, and a later line wins."""
    assert make_env(folder).returncode == 0
    dotenv = folder / ".env"
    lines = dotenv.read_text().splitlines()
    dotenv.write_text("".join(f"export {line}\n" if "=" in line and line[0] != "#" else f"{line}\n" for line in lines))
    before = dotenv.read_bytes()

    result = make_env_target(folder)

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == ".env has every variable of .env.example; leaving it as it is.\n"
    assert dotenv.read_bytes() == before


def test_filling_an_empty_secret_keeps_its_export(folder):
    (folder / ".env").write_text("export AS_SECRET_KEY=\nexport DEMO_PASSWORD=kept\n")

    result = make_env(folder, "-m", "shared.dotenv", "--add-missing")

    assert result.returncode == 0, result.stderr
    lines = (folder / ".env").read_text().splitlines()
    assert lines[0].startswith("export AS_SECRET_KEY=") and len(lines[0]) > len("export AS_SECRET_KEY=") + 16
    assert lines[1] == "export DEMO_PASSWORD=kept"
    assert "DEMO_PASSWORD=" not in "\n".join(lines[2:])
