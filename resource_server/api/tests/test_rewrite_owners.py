import json
import tempfile
from io import StringIO
from pathlib import Path
from unittest import mock

from django.core.management import CommandError, call_command
from django.test import TestCase

from api.models import Note

USER_SUBJECT = "0b5a0a1e-6a3c-4c4e-9a51-3d6f2d5e8a11"
CLIENT_SUBJECT = "7f0c3c9e-1b2d-4e5f-8a9b-0c1d2e3f4a5b"
NAMESAKE_SUBJECT = "c9d8e7f6-a5b4-4c3d-8e2f-1a0b9c8d7e6f"
MAPPING = {
    "subjects": [
        {"kind": "user", "old": "1", "new": USER_SUBJECT},
        {"kind": "user", "old": "2", "new": "11111111-2222-4333-8444-555555555555"},
        {"kind": "client", "old": "demo-machine", "new": CLIENT_SUBJECT},
        {"kind": "client", "old": "2", "new": NAMESAKE_SUBJECT},
    ]
}


def rewrite(mapping=MAPPING) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    with mock.patch("sys.stdin", StringIO(json.dumps(mapping))):
        call_command("rewrite_owners", "-", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


class RewriteOwnersTests(TestCase):
    def setUp(self):
        for owner in ("1", "1", "demo-machine", "2", "someone-else"):
            Note.objects.create(owner=owner, text=f"a note of {owner}")

    def owners(self) -> list[str]:
        return sorted(Note.objects.values_list("owner", flat=True))

    def test_old_subs_become_subjects_and_ambiguous_ones_are_reported(self):
        out, err = rewrite()

        self.assertEqual(self.owners(), sorted(["2", CLIENT_SUBJECT, "someone-else", USER_SUBJECT, USER_SUBJECT]))
        self.assertIn("3 notes of 2 owners rewritten; 1 notes of 1 ambiguous owners left unchanged", out)
        self.assertIn("'2' was the sub of a user and of a client", err)

    def test_running_it_again_changes_nothing(self):
        rewrite()
        before = self.owners()

        out, _ = rewrite()

        self.assertEqual(self.owners(), before)
        self.assertIn("0 notes of 0 owners rewritten", out)

    def test_reads_a_file(self):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "subjects.json"
            path.write_text(json.dumps(MAPPING))
            call_command("rewrite_owners", str(path), stdout=StringIO(), stderr=StringIO())

        self.assertIn(USER_SUBJECT, self.owners())

    def test_a_file_that_is_no_mapping_is_refused_and_changes_nothing(self):
        for mapping in ({"subjects": [{"old": "1"}]}, {"other": []}, ["x"]):
            with self.assertRaises(CommandError):
                rewrite(mapping)
        with self.assertRaises(CommandError):
            call_command("rewrite_owners", "/nonexistent/subjects.json")

        self.assertEqual(self.owners(), sorted(["1", "1", "2", "demo-machine", "someone-else"]))
