"""Each overlay rendered once per session (rendering.py); make test-kubernetes runs these tests."""

import shutil

import pytest

from .rendering import OVERLAYS, render


@pytest.fixture(scope="session")
def kubectl():
    if shutil.which("kubectl") is None:
        pytest.fail("make test-kubernetes: kubectl is not on PATH (it renders the overlays with kubectl kustomize)")


@pytest.fixture(scope="session", params=OVERLAYS)
def rendering(request, kubectl, tmp_path_factory):
    return render(request.param, tmp_path_factory.mktemp(request.param))
