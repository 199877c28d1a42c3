"""Create ``.venv`` with the locked dependencies, once, however many ``make`` targets ask at a time.

Standard library only: it runs before the virtual environment exists.

    python3 -m shared.install

Two targets started together (``make run-auth`` and ``make run-resource`` in two
terminals) would otherwise run two pips into one ``.venv``. The first to take the
lock installs; the others wait, then find the environment ready. An environment
is ready when it was built from the current lock file and pyproject.toml.
"""

import fcntl
import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed"
INPUTS = ("requirements-test.lock", "pyproject.toml")
PIP = ("-m", "pip", "install", "--quiet", "--disable-pip-version-check")


def fingerprint() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ready(wanted: str) -> bool:
    return STAMP.is_file() and STAMP.read_text() == wanted


def install() -> None:
    python = str(VENV / "bin" / "python")
    for command in (
        [sys.executable, "-m", "venv", str(VENV)],
        [python, *PIP, "--require-hashes", "-r", "requirements-test.lock"],
        [python, *PIP, "--no-deps", "-e", "."],
    ):
        # Fixed command lines: nothing in them comes from outside the repository (S603).
        subprocess.run(command, cwd=ROOT, check=True)  # noqa: S603


def main() -> int:
    wanted = fingerprint()
    VENV.mkdir(exist_ok=True)
    with (VENV / ".install.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("install: another make is installing .venv; waiting for it.", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        if ready(wanted):
            return 0
        print("install: creating .venv with the locked dependencies.", flush=True)
        try:
            install()
        except subprocess.CalledProcessError as error:
            print(f"install: {' '.join(error.cmd)} failed (exit {error.returncode}).", file=sys.stderr)
            return 1
        STAMP.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
