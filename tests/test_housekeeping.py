"""manage.py housekeeping --every, as the Compose job runs it: a line per run, SIGTERM ends it cleanly, and a bad
HOUSEKEEPING_INTERVAL_SECONDS is one line naming it, in the job's own log."""

import json
import signal
import subprocess
import sys
import time

import pytest

from shared.settings import audience_of

from . import test_configuration as configuration
from .stack import ROOT

pytestmark = pytest.mark.local_stack


def test_the_loop_logs_each_run_and_stops_on_sigterm(stack):
    process = subprocess.Popen(
        [sys.executable, "manage.py", "housekeeping", "--every", "1"],
        cwd=ROOT / "auth_server",
        env=stack.servers[0].env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 120
    while sum("housekeeping: removed" in line for line in lines) < 2 and time.monotonic() < deadline:
        lines.append(process.stderr.readline())
    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=10) == 0
    runs = [line for line in lines if "housekeeping: removed" in line]
    assert len(runs) == 2, lines
    assert "access tokens" in runs[0] and "sessions" in runs[0]
    assert "Traceback" not in "".join(lines) + process.stderr.read()


def compose_command(service: str) -> list[str]:
    """The ``command:`` of ``service`` in compose.yaml (a flow sequence of quoted strings: JSON)."""
    block = (ROOT / "compose.yaml").read_text().split(f"\n  {service}:\n", 1)[1]
    line = next(line for line in block.splitlines() if line.strip().startswith("command:"))
    return json.loads(line.split("command:", 1)[1])


@pytest.mark.parametrize("value", ["1h", "0"])
def test_a_bad_interval_is_one_line_naming_its_variable(value):
    """Compose restarts the job while it fails: each time, one line saying what to fix."""
    python, *arguments = compose_command("auth-housekeeping")
    env = configuration.authorization_server_environment(HOUSEKEEPING_INTERVAL_SECONDS=value)

    result = subprocess.run([sys.executable, *arguments], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert python == "python" and result.returncode != 0
    # The application's own JSON log lines (django-axes says it started) are no part of the error.
    lines = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, lines
    assert lines[0].startswith("auth_server: configuration error: HOUSEKEEPING_INTERVAL_SECONDS must be"), lines[0]
    assert f"not {value!r}; fix it or unset it" in lines[0]


def test_the_interval_in_dotenv_reaches_the_authorization_server_alone():
    """Under make run, ``manage.py housekeeping --every`` reads it from .env, as every AS variable."""
    assert audience_of("HOUSEKEEPING_INTERVAL_SECONDS") == {"auth_server"}
