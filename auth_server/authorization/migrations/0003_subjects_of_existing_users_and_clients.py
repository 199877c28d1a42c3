"""Give every user and client that existed before subjects its own subject.

Their old ``sub`` values (a user's primary key, a client's client_id) map to the
new ones with ``manage.py export_subjects``; the resource server rewrites the
owners of its data with that mapping (``manage.py rewrite_owners``).
"""

from django.conf import settings
from django.db import migrations

BATCH = 1000


def create_subjects(apps, schema_editor):
    Subject = apps.get_model("authorization", "Subject")
    for field, model in (
        ("user", settings.AUTH_USER_MODEL),
        ("application", settings.OAUTH2_PROVIDER_APPLICATION_MODEL),
    ):
        owners = apps.get_model(model).objects.filter(subject__isnull=True).values_list("pk", flat=True)
        Subject.objects.bulk_create(
            (Subject(**{f"{field}_id": pk}) for pk in owners.iterator(chunk_size=BATCH)), batch_size=BATCH
        )


class Migration(migrations.Migration):
    dependencies = [
        ("authorization", "0002_resource_server_enabled_and_subjects"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        migrations.swappable_dependency(settings.OAUTH2_PROVIDER_APPLICATION_MODEL),
    ]

    operations = [migrations.RunPython(create_subjects, migrations.RunPython.noop)]
