"""Deactivate users: they can no longer sign in, and every API is told (RFC 8935 notice).

    manage.py deactivate_user alice bob

Use this, the admin, or ``authorization.accounts.deactivate`` rather than a
queryset ``update(is_active=False)``, which tells no API.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from authorization import accounts


class Command(BaseCommand):
    help = "Deactivate users by username and tell every registered API."

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="+", metavar="username")

    def handle(self, *args, usernames, **options):
        User = get_user_model()
        users = User.objects.filter(**{f"{User.USERNAME_FIELD}__in": usernames})
        found = {user.get_username() for user in users}
        unknown = [name for name in usernames if name not in found]
        if unknown:  # nothing is changed: a typo must not half-run a list
            raise CommandError(f"No such user: {', '.join(unknown)}.")
        changed = {user.get_username() for user in accounts.deactivate(users)}
        for name in dict.fromkeys(usernames):
            self.stdout.write(f"# {name}: {'deactivated' if name in changed else 'already inactive'}")
