"""manage.py housekeeping --every, as the Compose job runs it: a line per run, and SIGTERM ends it cleanly."""

import signal
import subprocess
import sys
import time

import pytest

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
