from django.apps import AppConfig


class IntrospectionConfig(AppConfig):
    name = "introspection"
    verbose_name = "Bearer token introspection"

    def ready(self):
        from . import checks  # noqa: F401 - registers the token cache check
