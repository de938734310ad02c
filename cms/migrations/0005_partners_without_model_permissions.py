"""Partners hold no model permission: a partner login flagged staff by mistake sees nothing.

Partners never use the admin. What lets a login submit content is its partner account and
its membership of the "Partners" group (``sponsors.sponsorships.partner_can_submit``), not
Django model permissions, which the admin honours for any staff account.
"""

from django.db import migrations

from cms.migration_helpers import grant_permissions

PARTNERS = "Partners"

# What 0004 gave the group; restored if this migration is undone.
FORMER_PERMISSIONS = {"cms": {"submission": ["add", "change", "delete", "view"]}}


def clear(apps, schema_editor):
    # Every permission, also any given to the group by hand: the admin would show it.
    group = apps.get_model("auth", "Group").objects.filter(name=PARTNERS).first()
    if group is not None:
        group.permissions.clear()


def restore(apps, schema_editor):
    grant_permissions(apps, PARTNERS, FORMER_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("cms", "0004_partners_group")]

    operations = [migrations.RunPython(clear, restore)]
