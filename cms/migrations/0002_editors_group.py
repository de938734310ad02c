"""Create the "Editors" group with exactly the permissions editors need.

Editors write and schedule articles, manage topics and authors, and build article bodies.
They archive rather than delete articles, so they get no delete permission on articles.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR_PERMISSIONS = {
    "cms": {
        "article": ["add", "change", "view"],
        "articleblock": ["add", "change", "delete", "view"],
        "articletopic": ["add", "change", "delete", "view"],
        "topic": ["add", "change", "view"],
        "author": ["add", "change", "view"],
    },
}


def create_editors_group(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Editors")
    for app_label, models in EDITOR_PERMISSIONS.items():
        for model, verbs in models.items():
            codenames = [f"{verb}_{model}" for verb in verbs]
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )


def remove_editors_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Editors").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors_group, remove_editors_group)]
