"""Ad ops read the counts of uncounted events (by reason) and of article reads."""

from django.db import migrations

from cms.migration_helpers import grant_permissions, revoke_permissions

READERS = {"sponsors": {"uncountedcounter": ["view"], "articlereadcounter": ["view"]}}


def grant(apps, schema_editor):
    grant_permissions(apps, "Ad ops", READERS)


def revoke(apps, schema_editor):
    revoke_permissions(apps, "Ad ops", READERS)


class Migration(migrations.Migration):
    dependencies = [("sponsors", "0008_hourly_counters_and_reasons")]

    operations = [migrations.RunPython(grant, revoke)]
