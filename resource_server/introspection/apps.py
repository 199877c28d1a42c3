from django.apps import AppConfig


class IntrospectionConfig(AppConfig):
    name = "introspection"
    verbose_name = "Bearer token introspection"

    def ready(self):
        from . import checks  # noqa: F401 - registers the token cache check
        from .conf import introspection_settings

        # A bad RESOURCE_SERVER_* setting stops the server now (gunicorn preloads
        # the application), not at the first request that reads it.
        introspection_settings.check_all()
