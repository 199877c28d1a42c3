"""The ID token signing key in .env: made by ``make env`` with openssl, added to an older .env, rotated.

As in test_dotenv.py, shared.dotenv runs with ``python -S``: the standard library alone.
"""

import base64
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from shared.settings import dotenv_values

from .stack import ROOT, base_environment

KEY = "OIDC_RSA_PRIVATE_KEY"
INACTIVE = "OIDC_RSA_PRIVATE_KEYS_INACTIVE"


def dotenv(folder: Path, *arguments: str, path: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-S", "-m", "shared.dotenv", *arguments],
        cwd=folder,
        env={"PATH": path if path is not None else os.environ["PATH"], "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def pem(value: str) -> str:
    return base64.b64decode(value, validate=True).decode("ascii")


@pytest.fixture
def folder(tmp_path):
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    return tmp_path


def test_make_env_writes_an_rsa_key_on_one_line_that_the_servers_read_whole(folder):
    result = dotenv(folder)

    assert result.returncode == 0, result.stderr
    written = dotenv_values(folder / ".env")
    assert pem(written[KEY]).startswith("-----BEGIN PRIVATE KEY-----\n")
    check = subprocess.run(
        ["openssl", "pkey", "-noout", "-text"], input=pem(written[KEY]), capture_output=True, text=True
    )
    assert "Private-Key: (2048 bit" in check.stdout, check.stderr
    assert written[INACTIVE] == ""
    assert written["DEMO_WEB_CLIENT_SECRET"] and written["DEMO_WEB_CLIENT_ID"] == "demo-web"
    # Two stacks never share a key.
    other = folder / "other"
    other.mkdir()
    shutil.copy(folder / ".env.example", other / ".env.example")
    assert dotenv(other).returncode == 0
    assert dotenv_values(other / ".env")[KEY] != written[KEY]


def test_without_openssl_make_env_says_what_to_install_and_writes_nothing(folder, tmp_path_factory):
    bare = tmp_path_factory.mktemp("bin")  # a PATH without openssl

    result = dotenv(folder, path=str(bare))

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "openssl" in result.stderr and KEY in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in folder.iterdir()) == [".env.example"]


def test_an_older_env_gets_the_variables_it_lacks_and_keeps_what_it_has(folder):
    older = "AS_SECRET_KEY=kept\nOAUTH_RS_CLIENT_ID=resource-server\nOAUTH_RS_CLIENT_SECRET=s3cret\n"
    target = folder / ".env"
    target.write_text(older)
    target.chmod(0o640)

    result = dotenv(folder, "--add-missing")

    assert result.returncode == 0, result.stderr
    assert KEY in result.stdout and "AS_SECRET_KEY" not in result.stdout
    text = target.read_text()
    assert text.startswith(older)
    written = dotenv_values(target)
    assert written["AS_SECRET_KEY"] == "kept"
    assert pem(written[KEY]).startswith("-----BEGIN PRIVATE KEY-----")
    assert written["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"] == "resource-server:s3cret"
    assert set(dotenv_values(folder / ".env.example")) <= set(written)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    # Twice: nothing more to add.
    again = dotenv(folder, "--add-missing")
    assert again.returncode == 0 and "has every variable" in again.stdout
    assert target.read_text() == text


def test_add_missing_fills_the_empty_secrets_of_a_copied_template(folder):
    # `cp .env.example .env` leaves OIDC_RSA_PRIVATE_KEY empty; the AS then names --add-missing.
    target = folder / ".env"
    shutil.copy(folder / ".env.example", target)
    target.chmod(0o600)

    result = dotenv(folder, "--add-missing")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("filled in .env: ") and KEY in result.stdout, result.stdout
    assert "added to" not in result.stdout
    written = dotenv_values(target)
    assert pem(written[KEY]).startswith("-----BEGIN PRIVATE KEY-----")
    assert written[INACTIVE] == ""
    assert written["AS_SECRET_KEY"] and written["DEMO_WEB_CLIENT_SECRET"]
    credentials = written["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"]
    assert credentials == f"resource-server:{written['OAUTH_RS_CLIENT_SECRET']}"
    assert written["AS_DATABASE_URL"] == ""  # empty by choice: not a secret
    assert target.read_text().count(f"{KEY}=") == 1 and "# Added from" not in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    again = dotenv(folder, "--add-missing")
    assert again.returncode == 0 and "has every variable" in again.stdout


def test_rotation_moves_the_key_to_the_front_of_the_inactive_list_and_keeps_the_file_private(folder):
    assert dotenv(folder).returncode == 0
    target = folder / ".env"
    first = dotenv_values(target)[KEY]

    assert dotenv(folder, "--rotate-oidc-key").returncode == 0
    second = dotenv_values(target)[KEY]
    assert dotenv(folder, "--rotate-oidc-key", ".env").returncode == 0
    rotated = dotenv_values(target)

    assert len({first, second, rotated[KEY]}) == 3
    assert rotated[INACTIVE] == f"{second},{first}"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(path.name for path in folder.iterdir()) == [".env", ".env.example"]


def test_rotation_without_a_key_is_refused(folder):
    (folder / ".env").write_text("AS_SECRET_KEY=x\n")

    result = dotenv(folder, "--rotate-oidc-key")

    assert result.returncode == 1
    assert "no OIDC_RSA_PRIVATE_KEY" in result.stderr
    assert (folder / ".env").read_text() == "AS_SECRET_KEY=x\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", "OIDC_RSA_PRIVATE_KEY is not set"), ("bm90IGEga2V5", "OIDC_RSA_PRIVATE_KEY is not an RSA private key")],
    ids=["missing", "not-a-key"],
)
def test_the_authorization_server_refuses_to_start_without_a_valid_key(tmp_path, value, expected):
    env = {
        **base_environment(),
        "AS_SECRET_KEY": "x" * 50,
        "AS_DATABASE_URL": f"sqlite:///{tmp_path}/as.sqlite3",
        "AS_PORT": "9",
        KEY: value,
    }

    result = subprocess.run(
        [sys.executable, "-m", "shared.serve", "auth"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if KEY in line]
    assert len(lines) == 1, result.stderr
    assert "configuration error" in lines[0] and expected in lines[0]
    assert "Traceback" not in result.stderr
