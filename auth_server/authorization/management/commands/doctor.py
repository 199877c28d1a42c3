"""Check the authorization server's running configuration: manage.py doctor (make doctor runs it)."""

from django.conf import settings

from authorization import doctor as authorization
from shared import doctor

MIGRATE = "run manage.py migrate (make migrate-auth; under Compose docker compose up -d runs auth-migrate)"


class Command(doctor.DoctorCommand):
    server = "auth_server"

    def checks(self):
        return [
            (".env", lambda: doctor.dotenv(settings.BASE_DIR.parent)),
            ("database", lambda: doctor.database("AS_DATABASE_URL")),
            ("migrations", lambda: doctor.migrations(MIGRATE)),
            *authorization.CHECKS,
        ]
