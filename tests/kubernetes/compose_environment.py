"""The environment Compose gives a service: compose.yaml (and override files) as Compose merges them.

Anchors and merge keys are YAML's, resolved by the loader; an override file's
environment map is merged into the base's variable by variable
(https://docs.docker.com/reference/compose-file/merge/); values are then
interpolated with the .env given (compose_interpolation.py).
"""

from pathlib import Path

import yaml

from .compose_interpolation import interpolate


def environment_map(service: dict) -> dict:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return environment


def service_environment(files: list[Path], service: str, variables: dict[str, str]) -> dict[str, str]:
    merged: dict = {}
    for path in files:
        services = yaml.safe_load(path.read_text()).get("services") or {}
        if service in services:
            merged.update(environment_map(services[service]))
    # A variable listed without a value is passed from Compose's own environment: none here.
    return {
        name: interpolate(str(value).lower() if isinstance(value, bool) else str(value), variables)
        for name, value in merged.items()
        if value is not None
    }
