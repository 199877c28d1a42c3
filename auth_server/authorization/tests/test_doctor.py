import os
import tempfile
from pathlib import Path
from unittest import mock

from django.test import SimpleTestCase

from shared import doctor


class DotenvCheckTests(SimpleTestCase):
    def setUp(self):
        self.root = Path(tempfile.mkdtemp())
        (self.root / ".env.example").write_text("AS_PORT=8000\nNEW_SECRET=\n# OPTIONAL_ONE=1\n")

    def check(self) -> str:
        with mock.patch.dict(os.environ, {"DJANGO_READ_DOT_ENV_FILE": "true"}):
            return doctor.dotenv(self.root)

    def test_a_variable_env_example_gained_says_run_make_env_and_names_it_not_its_value(self):
        (self.root / ".env").write_text("AS_PORT=8000\n")

        with self.assertRaisesMessage(doctor.Wrong, ".env lacks NEW_SECRET, which .env.example has: run make env"):
            self.check()

    def test_a_complete_env_is_ok_and_optional_lines_are_not_required(self):
        (self.root / ".env").write_text("AS_PORT=9000\nNEW_SECRET=s3cret\n")

        self.assertEqual(self.check(), "has every variable of .env.example")

    def test_a_server_configured_by_its_environment_alone_skips_it(self):
        with mock.patch.dict(os.environ, {"DJANGO_READ_DOT_ENV_FILE": "false"}), self.assertRaises(doctor.Skipped):
            doctor.dotenv(self.root)
