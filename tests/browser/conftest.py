"""One local stack, the demo relying party and Debian's chromium, for the browser tests.

They run once, not per database and mode: the pages are the same in each. The
stack is the credentials-mode one on SQLite, started here rather than through the
parametrized ``stack`` fixture, and stopped once the module's tests are done.
Screenshots of each page go to BROWSER_SCREENSHOTS, or to a temporary folder
named at the end of the run.
"""

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from tests.stack import ROOT, Stack, base_environment, free_port, start_stack

CHROMIUM = "/usr/bin/chromium"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# A page after a sign-in waits on the AS, the API and an introspection: on a loaded
# two-core CI machine that takes longer than Playwright's 5 s default.
expect.set_options(timeout=20_000)

# Under make test-compose the suite runs against Compose; these start a local stack of their own.
collect_ignore = ["test_sign_in.py"] if os.environ.get("E2E_AUTH_URL") else []

TAKEN: list[Path] = []  # the screenshots folder, once a test has used it


def pytest_terminal_summary(terminalreporter):
    for folder in TAKEN:
        terminalreporter.write_line(f"browser screenshots: {folder}")


@dataclass
class Demo:
    stack: Stack
    app_url: str  # the demo relying party
    username: str
    password: str
    client_id: str

    @property
    def auth_url(self) -> str:
        return self.stack.auth_url


def wait_serving(url: str, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the demo app exited ({process.returncode}):\n{log.read_text()}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the demo app at {url} did not start:\n{log.read_text()}")


def with_port(uri: str, port: int) -> str:
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{port}"))


@contextlib.contextmanager
def demo_app(stack: Stack, **overrides: str) -> Iterator[str]:
    """The demo app, run as ``make demo`` runs it, on a free port, signing in at ``stack``: its URL."""
    # Any free port: the seeded URIs are loopback ones, which match on any port (RFC 8252 §7.3).
    port = free_port()
    environment = {
        **base_environment(),
        "DJANGO_READ_DOT_ENV_FILE": "false",
        "OAUTH_ISSUER": stack.auth_url,
        "DEMO_WEB_PORT": str(port),
        "DEMO_WEB_CLIENT_ID": stack.secrets["DEMO_WEB_CLIENT_ID"],
        "DEMO_WEB_CLIENT_SECRET": stack.secrets["DEMO_WEB_CLIENT_SECRET"],
        "DEMO_WEB_REDIRECT_URI": with_port(stack.secrets["DEMO_WEB_REDIRECT_URI"], port),
        "DEMO_WEB_POST_LOGOUT_REDIRECT_URI": with_port(stack.secrets["DEMO_WEB_POST_LOGOUT_REDIRECT_URI"], port),
        "DEMO_WEB_API_URL": stack.resource_url,
        "RESOURCE_SERVER_RESOURCE": stack.resource,
        **overrides,
    }
    log = Path(tempfile.mkstemp(prefix="demo-web-", suffix=".log")[1])
    with log.open("a") as output:
        app = subprocess.Popen(
            [sys.executable, "-m", "tests.relying_party"], cwd=ROOT, env=environment, stdout=output, stderr=output
        )
    try:
        app_url = f"http://127.0.0.1:{port}"
        wait_serving(f"{app_url}/", app, log)
        yield app_url
    finally:
        app.terminate()
        app.wait(timeout=20)


@pytest.fixture(scope="module")
def demo():
    stack = start_stack("credentials", "sqlite")
    try:
        with demo_app(stack) as app_url:
            yield Demo(
                stack,
                app_url,
                stack.secrets["DEMO_USERNAME"],
                stack.secrets["DEMO_PASSWORD"],
                stack.secrets["DEMO_WEB_CLIENT_ID"],
            )
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does it as root)", pytrace=False)

    with sync_playwright() as playwright:
        # Debian's chromium: nothing here downloads a browser.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


# Each violation is reported to the test, whatever page (AS or demo app) it happens on.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} on ${location.href}`);
});
"""


@dataclass
class Problems:
    """Console errors, page errors and CSP violations seen in one browser context."""

    seen: list = field(default_factory=list)
    expected: list = field(default_factory=list)  # substrings of console errors a test provokes

    def add(self, text: str) -> None:
        if not any(part in text for part in self.expected):
            self.seen.append(text)


def open_page(browser, viewport: dict, **options):
    context = browser.new_context(viewport=viewport, **options)
    problems = Problems()
    context.expose_binding("reportViolation", lambda _source, text: problems.add(f"CSP violation: {text}"))
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()
    # The response of each page the browser navigated to, to assert statuses and headers.
    page.documents = []
    page.on("response", lambda response: response.request.is_navigation_request() and page.documents.append(response))
    page.on("console", lambda message: message.type == "error" and problems.add(f"console: {message.text}"))
    page.on("pageerror", lambda error: problems.add(f"page error: {error}"))
    return context, page, problems


@pytest.fixture
def browse(browser, demo):
    """``browse(viewport, **options)``: a page in a fresh browser context (no cookies).

    The test fails on any console error, page error or CSP violation in it.
    """
    opened = []

    def open_one(viewport: dict = DESKTOP, **options):
        context, page, problems = open_page(browser, viewport, **options)
        page.problems = problems
        opened.append((context, problems))
        return page

    yield open_one
    seen = [text for context, problems in opened for text in problems.seen]
    for context, _ in opened:
        context.close()
    assert seen == [], "\n".join(seen)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = os.environ.get("BROWSER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
    else:
        folder = tempfile.mkdtemp(prefix="browser-screenshots-")
    TAKEN.append(Path(folder))
    return Path(folder)


@pytest.fixture
def screenshot(screenshots):
    """``screenshot(page, name)``: the whole page as the user sees it, in the screenshots folder."""

    def take(page, name: str) -> Path:
        path = screenshots / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take
