from django.apps import AppConfig


class AuthorizationConfig(AppConfig):
    name = "authorization"
    verbose_name = "Authorization server"

    def ready(self):
        from . import guessing, signals

        signals.connect()
        guessing.connect()
