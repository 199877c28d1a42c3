"""Register an API at this issuer, or change, disable or remove its registration.

    manage.py register_resource_server --client-id billing-api \
        --resource https://billing.example/ --scopes "billing:read billing:write" --name Billing

Idempotent: a second run with the same options changes nothing and says so.
Standard output is the API's settings, as lines of its .env file: the client
secret appears once, when it is made (a new API, or --rotate-secret). A secret
is never read from the command line, where other users and shell histories see it.
"""

from django.core.management.base import BaseCommand, CommandError

from authorization import registration


class Command(BaseCommand):
    help = "Create or update an API's client, resource identifier (RFC 8707) and scopes; print the API's settings."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", required=True, help="The API's client id, e.g. billing-api.")
        parser.add_argument(
            "--resource", help="Its resource identifier, an absolute URI, e.g. https://billing.example/."
        )
        parser.add_argument("--scopes", help='The scopes it owns, space-separated, e.g. "billing:read billing:write".')
        parser.add_argument("--name", help="Its name on the consent page.")
        parser.add_argument(
            "--events-endpoint",
            help="Where it receives this issuer's revocation notices (RFC 8935 push of Security Event Tokens), "
            'e.g. https://billing.example/security-events/; "" stops them.',
        )
        parser.add_argument("--rotate-secret", action="store_true", help="Give its client a new secret, printed once.")
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--disable", action="store_true", help="Cut it off: no introspection, no tokens for it.")
        state.add_argument("--enable", action="store_true", help="Undo --disable.")
        state.add_argument("--remove", action="store_true", help="Remove its registration and its client.")

    def handle(self, *args, client_id, resource, scopes, name, events_endpoint, rotate_secret, **options):
        disable, enable, remove = options["disable"], options["enable"], options["remove"]
        if remove:
            self.remove(client_id, resource, scopes, name, events_endpoint, rotate_secret)
            return
        if not (resource and scopes) and not registration.is_registered(client_id):
            raise CommandError(f"{client_id} is not registered yet: registering it takes --resource and --scopes.")
        enabled = True if enable else False if disable else None
        try:
            done = registration.register(
                client_id,
                resource=resource,
                scopes=scopes,
                name=name,
                enabled=enabled,
                events_endpoint=events_endpoint,
                rotate_secret=rotate_secret,
            )
        except registration.RegistrationError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"# {client_id}: {done.summary}")
        if not done.api.enabled:
            self.stdout.write("# disabled: it may not introspect, and no token can be asked for it")
        for line in done.settings():
            self.stdout.write(line)

    def remove(self, client_id, *other_options) -> None:
        if any(other_options):
            raise CommandError("--remove takes no other option than --client-id.")
        removed = registration.remove(client_id)
        self.stdout.write(f"# {client_id}: {'removed' if removed else 'not registered, nothing removed'}")
