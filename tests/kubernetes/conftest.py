"""Each overlay rendered once per session and .env (rendering.py); make test-kubernetes runs these tests."""

import shutil

import pytest

from .rendering import OVERLAYS, render


@pytest.fixture(scope="session")
def kubectl():
    if shutil.which("kubectl") is None:
        pytest.fail("make test-kubernetes: kubectl is not on PATH (it renders the overlays with kubectl kustomize)")


@pytest.fixture(scope="session")
def renderings(kubectl, tmp_path_factory):
    """rendered(overlay, dotenv): each overlay from each kind of .env (rendering.DOTENVS), rendered once."""
    done = {}

    def rendered(overlay: str, dotenv: str = "fresh"):
        if (overlay, dotenv) not in done:
            done[(overlay, dotenv)] = render(overlay, tmp_path_factory.mktemp(f"{overlay}-{dotenv}"), dotenv)
        return done[(overlay, dotenv)]

    return rendered


@pytest.fixture(scope="session", params=OVERLAYS)
def rendering(request, renderings):
    """Each overlay from a fresh .env, as make env writes it."""
    return renderings(request.param)
