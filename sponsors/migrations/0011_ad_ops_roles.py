"""Ad ops get every permission the jobs the README gives them need in the admin.

Before, the group could not add deadline phases (so not a countdown either), extend a
deadline, read the extension history, manage disclosure labels or open Partner accounts, and
the article and topic pickers of sponsorships and creatives (admin autocomplete, which needs
"view" on the model it searches) answered 403.

Still not granted, on purpose: deleting sponsors, labels and partner logins (untick "active"
instead: sponsorships, campaigns and submissions point at them), changing or deleting the
extension history (kept for good), writing articles (editors' job) and anything under users,
groups or tokens (superusers only: a token or group can give any power).
"""

from django.db import migrations

from cms.migration_helpers import grant_permissions, revoke_permissions

AD_OPS = "Ad ops"

ROLE_PERMISSIONS = {
    "sponsors": {
        "deadlinephase": ["add", "change", "delete", "view"],
        # "add" is what extending writes; the rows are never changed or deleted.
        "deadlineextension": ["add", "view"],
        "disclosurelabel": ["add", "change", "view"],
        "partner": ["add", "change", "view"],
    },
    # To pick what a sponsorship or a creative's targeting points at, and to open the
    # articles they sponsor (read-only, with their topics and body).
    "cms": {
        "article": ["view"],
        "articleblock": ["view"],
        "articletopic": ["view"],
        "topic": ["view"],
    },
}


def grant(apps, schema_editor):
    grant_permissions(apps, AD_OPS, ROLE_PERMISSIONS)


def revoke(apps, schema_editor):
    revoke_permissions(apps, AD_OPS, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("sponsors", "0010_calendar_feeds"),
        ("cms", "0004_partners_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
