#!/usr/bin/env python
import os
import sys

from shared.metrics import for_a_command

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    for_a_command()
    # Django's debug pages (every route, settings, tracebacks) are for the
    # development server alone; make run serves the local settings with DEBUG off.
    if sys.argv[1:2] == ["runserver"]:
        os.environ.setdefault("DJANGO_DEBUG", "true")
    from django.core.management import execute_from_command_line

    from shared.configuration import one_line

    with one_line("resource_server"):
        execute_from_command_line(sys.argv)
