"""Move notes from the old ``sub`` values to the subjects the AS now issues.

    manage.py rewrite_owners subjects.json      (or - to read standard input)

The mapping is what ``manage.py export_subjects`` prints at the authorization
server. Running it again changes nothing. An old value that was both a user's
primary key and a client's client_id named two subjects at once: its notes are
left alone and reported, for a person to decide whose they are.
"""

import json
import sys
from collections import defaultdict

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from api.models import Note


def read_mapping(source) -> dict[str, set[str]]:
    """Each old value and the subjects it stood for."""
    try:
        entries = json.load(source)["subjects"]
        mapping = defaultdict(set)
        for entry in entries:
            mapping[str(entry["old"])].add(str(entry["new"]))
    except (ValueError, KeyError, TypeError) as error:
        raise CommandError(f"Not a mapping from manage.py export_subjects: {error!r}") from error
    return mapping


class Command(BaseCommand):
    help = "Rewrite note owners from old sub values to subjects, with the JSON of manage.py export_subjects."

    def add_arguments(self, parser):
        parser.add_argument("mapping", help="the file export_subjects wrote, or - for standard input")

    @transaction.atomic
    def handle(self, *args, mapping, **options):
        if mapping == "-":
            subjects = read_mapping(sys.stdin)
        else:
            try:
                with open(mapping, encoding="utf-8") as source:
                    subjects = read_mapping(source)
            except OSError as error:
                raise CommandError(f"Cannot read {mapping}: {error.strerror}") from error
        rewritten, owners, left, ambiguous = 0, 0, 0, 0
        for old, new in sorted(subjects.items()):
            if len(new) > 1:
                count = Note.objects.filter(owner=old).count()
                if count:
                    left, ambiguous = left + count, ambiguous + 1
                    self.stderr.write(
                        f"rewrite_owners: {old!r} was the sub of a user and of a client ({', '.join(sorted(new))}): "
                        f"its {count} notes are left as they are, move them by hand"
                    )
                continue
            count = Note.objects.filter(owner=old).update(owner=next(iter(new)))
            rewritten, owners = rewritten + count, owners + bool(count)
        self.stdout.write(
            f"rewrite_owners: {rewritten} notes of {owners} owners rewritten; "
            f"{left} notes of {ambiguous} ambiguous owners left unchanged"
        )
