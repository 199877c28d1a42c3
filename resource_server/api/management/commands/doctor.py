"""Check this API's running configuration end to end: manage.py doctor (make doctor runs it for each API)."""

from django.conf import settings

from api.doctor import note_owners
from introspection import doctor as introspection
from shared import doctor

MIGRATE = "run manage.py migrate (make migrate; under Compose docker compose up -d runs the migrate jobs)"


class Command(doctor.DoctorCommand):
    def checks(self):
        self.server = settings.RS_NAME
        return [
            (".env", lambda: doctor.dotenv(settings.BASE_DIR.parent)),
            ("database", lambda: doctor.database("RS_DATABASE_URL")),
            ("migrations", lambda: doctor.migrations(MIGRATE)),
            *introspection.CHECKS,
            ("note owners", note_owners),
        ]
