"""Create the "Partners" group and give editors what moderation needs.

Partners (sponsors' staff) submit content and see their own submissions; they never get admin
access, so their permissions only matter to the submissions API and form. Editors moderate
submissions (view + approve/reject) and can see the sponsors, labels and sponsorships that
partner articles are published under; ad-ops staff manage those.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PARTNER_PERMISSIONS = {
    "cms": {"submission": ["add", "change", "delete", "view"]},
}

EDITOR_PERMISSIONS = {
    "cms": {"submission": ["view", "moderate"]},
    "sponsors": {"sponsor": ["view"], "sponsorship": ["view"], "disclosurelabel": ["view"]},
}


def _grant(apps, group_name, permissions):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=group_name)
    for app_label, models in permissions.items():
        for model, verbs in models.items():
            codenames = [f"{verb}_{model}" for verb in verbs]
            found = Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
            assert found.count() == len(codenames), f"missing permissions for {model}"
            group.permissions.add(*found)


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    _grant(apps, "Partners", PARTNER_PERMISSIONS)
    _grant(apps, "Editors", EDITOR_PERMISSIONS)


def remove_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Group.objects.filter(name="Partners").delete()
    editors = Group.objects.filter(name="Editors").first()
    if editors:
        for app_label, models in EDITOR_PERMISSIONS.items():
            for model, verbs in models.items():
                editors.permissions.remove(
                    *Permission.objects.filter(
                        content_type__app_label=app_label,
                        codename__in=[f"{verb}_{model}" for verb in verbs],
                    )
                )


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0003_submissions"),
        ("sponsors", "0002_sponsorships"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
