import os

from introspection import cache
from shared.wsgi import load_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = load_application("resource_server")
cache.prepare()
