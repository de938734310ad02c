"""Create the "Editors" group with exactly the permissions editors need.

Editors write and schedule articles, manage topics and authors, and build article bodies.
They archive rather than delete articles, so they get no delete permission on articles.
"""

from django.db import migrations

from cms.migration_helpers import delete_group, grant_permissions

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
    grant_permissions(apps, "Editors", EDITOR_PERMISSIONS)


def remove_editors_group(apps, schema_editor):
    delete_group(apps, "Editors")


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors_group, remove_editors_group)]
