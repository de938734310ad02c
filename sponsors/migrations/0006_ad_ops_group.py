"""Create the "Ad ops" group: what ad-operations staff need in the admin and the staff API.

They run the inventory (slots, campaigns, creatives, countdowns), sponsors and sponsorships,
and read the delivery counts (which only tracking writes). API tokens are issued in the
admin under "Tokens" by a superuser.
"""

from django.db import migrations

from cms.migration_helpers import delete_group, grant_permissions

AD_OPS_PERMISSIONS = {
    "sponsors": {
        "slot": ["add", "change", "delete", "view"],
        "campaign": ["add", "change", "delete", "view"],
        "creative": ["add", "change", "delete", "view"],
        "countdown": ["add", "change", "delete", "view"],
        "sponsor": ["add", "change", "view"],
        "sponsorship": ["add", "change", "delete", "view"],
        "deliverycounter": ["view"],
    },
}


def create_ad_ops_group(apps, schema_editor):
    grant_permissions(apps, "Ad ops", AD_OPS_PERMISSIONS)


def remove_ad_ops_group(apps, schema_editor):
    delete_group(apps, "Ad ops")


class Migration(migrations.Migration):
    dependencies = [
        ("sponsors", "0005_creative_countdown"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_ad_ops_group, remove_ad_ops_group)]
