import secrets
import subprocess
import sys

import pytest

from .stack import ROOT, base_environment, resource_server_environment, seed_secrets, signing_key


@pytest.mark.parametrize("server", ["auth_server", "resource_server"])
def test_production_settings_pass_the_deploy_checks_without_warnings(server):
    env = resource_server_environment("https://as.example", "credentials", seed_secrets(), "sqlite:///:memory:")
    env.update(base_environment(), AS_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_HTTPS="true")
    env.update(OIDC_RSA_PRIVATE_KEY=signing_key(), OAUTH_ISSUER="https://as.example")

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT / server,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
