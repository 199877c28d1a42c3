from django.apps import AppConfig


class IntrospectionConfig(AppConfig):
    name = "introspection"
    verbose_name = "Bearer token introspection"

    def ready(self):
        from . import cache, checks  # noqa: F401 - checks registers the token cache check
        from .conf import introspection_settings

        # A bad RESOURCE_SERVER_* setting stops the server now (gunicorn preloads
        # the application), not at the first request that reads it.
        introspection_settings.check_all()
        cache.choose_key_prefix()
