from django.apps import AppConfig


class IntrospectionConfig(AppConfig):
    name = "introspection"
    verbose_name = "Bearer token introspection"
