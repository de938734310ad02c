"""Create the "Ad ops" group: what ad-operations staff need in the admin and the staff API.

They run the inventory (slots, campaigns, creatives, countdowns), sponsors and sponsorships,
and read the delivery counts (which only tracking writes). API tokens are issued in the
admin under "Tokens" by a superuser.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

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
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Ad ops")
    for app_label, models in AD_OPS_PERMISSIONS.items():
        for model, verbs in models.items():
            codenames = [f"{verb}_{model}" for verb in verbs]
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )


def remove_ad_ops_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Ad ops").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sponsors", "0005_creative_countdown"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_ad_ops_group, remove_ad_ops_group)]
